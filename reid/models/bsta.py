"""IBAN's bidirectional spatial-temporal aggregation (eq 6-10): a forward and a backward LSTM over the frame
vectors, cosine frame weights from each direction's sequence feature (eq 8), temporal attention (eq 6: a
channel gate from the sequence feature, applied to each frame with a residual), the weighted mean (eq 9). The
BatchNorm of eq 10 is the model's neck."""
from __future__ import annotations

from mindspore import nn, ops


def cosine(x, y, eps: float = 1e-8):
    """Cosine similarity along the last axis, broadcasting: (..., C) x (..., C) -> (...)."""
    num = (x * y).sum(-1)
    return num / (ops.sqrt((x * x).sum(-1) * (y * y).sum(-1)) + eps)


class BSTA(nn.Cell):
    """construct(f (B, T, C)) -> (m (B, C), frame weights w (B, T)).

    The LSTM runs both ways in one bidirectional cell: the forward direction's last step is f~_t1 (it has read
    frames 1..k), the backward direction's output at frame 1 is f~_t2 (it has read k..1). With hidden != C each
    is projected to C, so that eq 8 can compare it with the frames."""

    def __init__(self, dim: int, hidden: int, reduction: int = 16):
        super().__init__()
        self.hidden = hidden
        self.lstm = nn.LSTM(dim, hidden, num_layers=1, batch_first=True, bidirectional=True)
        self.proj = nn.Dense(hidden, dim) if hidden != dim else None
        gate = max(dim // reduction, 4)
        # FC of eq 6, "a series of ReLU and Sigmoid layers": the sequence feature -> a gate per channel
        self.gate = nn.SequentialCell([nn.Dense(dim, gate), nn.ReLU(), nn.Dense(gate, dim), nn.Sigmoid()])

    def directions(self, f):
        """(f~_t1, f~_t2), each (B, C)."""
        seq, _ = self.lstm(f)  # (B, T, 2 * hidden): forward then backward halves
        t, h = seq.shape[1], self.hidden
        forward = seq[:, t - 1:t, :h].reshape(seq.shape[0], h)  # squeezing slices export a broken Squeeze
        backward = seq[:, 0:1, h:].reshape(seq.shape[0], h)
        if self.proj is not None:
            forward, backward = self.proj(forward), self.proj(backward)
        return forward, backward

    @staticmethod
    def frame_weights(f, forward, backward):
        """Eq 8: w_k = (cos(f_k, f~_t1) + cos(f_k, f~_t2)) / 2, (B, T)."""
        return (cosine(f, forward.expand_dims(1)) + cosine(f, backward.expand_dims(1))) / 2

    def construct(self, f):
        forward, backward = self.directions(f)
        w = self.frame_weights(f, forward, backward)
        gate = self.gate((forward + backward) / 2)  # one TA for both directions, from their mean
        refined = gate.expand_dims(1) * f + f  # eq 6's TA: FC(f~_t) (x) f_k + f_k
        m = (w.expand_dims(-1) * refined).sum(1) / f.shape[1]  # eq 9
        return m, w
