"""Names of gates and states in English and in the Chinese our users' tutorials use.

Views label gates with `gate_label` so a student who learnt "遗忘门" finds the forget gate.
"""

from __future__ import annotations

#: gate key → (English name, Chinese name, activation). 输入门, 遗忘门, 输出门, 细胞状态 and 隐藏状态
#: are the tutorials' own words (000, 003, 004); g is 候选门 in tutorial 004 and r, z, n are not
#: named in any of them (000's GRU section is figures): those are the common textbook terms.
GATES: dict[str, tuple[str, str, str]] = {
    "i": ("input gate", "输入门", "σ"),
    "f": ("forget gate", "遗忘门", "σ"),
    "g": ("cell candidate", "候选细胞状态", "tanh"),
    "o": ("output gate", "输出门", "σ"),
    "c": ("cell state", "细胞状态", ""),
    "h": ("hidden state", "隐藏状态", ""),
    "r": ("reset gate", "重置门", "σ"),
    "z": ("update gate", "更新门", "σ"),
    "n": ("new gate (candidate)", "候选隐藏状态", "tanh"),
    "a": ("pre-activation", "激活前的值", ""),
}

#: tensor name → (English, Chinese)
TENSORS: dict[str, tuple[str, str]] = {
    "input": ("input", "输入"),
    "h0": ("initial hidden state", "初始隐藏状态"),
    "c0": ("initial cell state", "初始细胞状态"),
    "output": ("output", "输出"),
    "h_n": ("final hidden state", "最后的隐藏状态"),
    "c_n": ("final cell state", "最后的细胞状态"),
}


def gate_label(gate: str, chinese: bool = True) -> str:
    """E.g. 'f — forget gate (遗忘门)'; unknown keys come back unchanged."""
    if gate not in GATES:
        return gate
    en, zh, _ = GATES[gate]
    return f"{gate} — {en} ({zh})" if chinese else f"{gate} — {en}"
