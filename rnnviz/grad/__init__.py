"""Gradients through time: a real backward pass, recomputed per timestep and checked against torch."""
