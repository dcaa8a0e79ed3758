"""The tutorial example from STYLE.md, end to end through the public API."""

import torch

import rnnviz


def test_tutorial_rnn_5_6_2_shapes_match_torch():
    torch.manual_seed(0)
    rnn = torch.nn.RNN(5, 6, 2)
    x, h0 = torch.randn(1, 3, 5), torch.randn(2, 3, 6)
    out, hn = rnn(x, h0)
    tr = rnnviz.trace(rnn, x, h0)
    assert tuple(out.shape) == (1, 3, 6) == tr.tensors["output"].shape
    assert tuple(hn.shape) == (2, 3, 6) == tr.tensors["h_n"].shape
    assert torch.equal(torch.from_numpy(tr.tensors["output"]), out)
    assert tr.max_abs_diff <= 1e-5
