"""Sequence-level aggregation (eq 8-13): skeleton graph GAT, body-part contributions, multi-p GeM."""
from __future__ import annotations

import numpy as np
from mindspore import Parameter, Tensor, nn, ops
from mindspore.common.initializer import XavierUniform, initializer

from starreid.reid.skeleton import BODY_PARTS, DEFAULT_SCORE_THRESHOLD, NUM_JOINTS, adjacency, part_matrix

GEM_POWERS = (0.7, 1.0, 3.0, 5.0, 7.0)


def elu(x):
    """ELU in the form that exports to ONNX (nn.ELU does not); exp sees only x <= 0, so it never overflows."""
    return ops.where(x > 0, x, ops.exp(ops.minimum(x, 0.0)) - 1.0)


def gem(x, p: float, axis: int, eps: float = 1e-6):
    """Eq 11: (mean |x|^p)^(1/p) along axis, as exp/log (ops.pow with 1/p does not export)."""
    x = ops.maximum(ops.abs(x), eps)
    return ops.exp(ops.log(ops.exp(ops.log(x) * p).mean(axis)) / p)


class GATLayer(nn.Cell):
    """Dense masked graph attention (eq 10) over N nodes; heads are concatenated.

    construct(h (B, N, F), mask (B, N, N) with mask[b, i, j] = 1 when j is a neighbour of i)
    -> (ELU(sum_j alpha_ij W h_j) (B, N, heads * out), alpha (B, heads, N, N)).
    """

    def __init__(self, in_dim: int, out_dim: int, heads: int = 1, dropout: float = 0.0, bias: bool = True):
        super().__init__()
        self.heads, self.out_dim = heads, out_dim
        self.w = nn.Dense(in_dim, heads * out_dim, has_bias=False)
        # added after aggregation, before ELU (as PyG's GATConv, which the authors use)
        self.bias = Parameter(initializer("zeros", (heads * out_dim,)), name="bias") if bias else None
        self.a_src = Parameter(initializer(XavierUniform(), (1, heads, 1, out_dim)), name="a_src")
        self.a_dst = Parameter(initializer(XavierUniform(), (1, heads, 1, out_dim)), name="a_dst")
        self.dropout = dropout

    def construct(self, h, mask):
        b, n, _ = h.shape
        wh = self.w(h).reshape(b, n, self.heads, self.out_dim).transpose(0, 2, 1, 3)  # (B, H, N, F)
        e_i = (wh * self.a_dst).sum(-1).reshape(b, self.heads, n, 1)
        e_j = (wh * self.a_src).sum(-1).reshape(b, self.heads, 1, n)
        m = mask.reshape(b, 1, n, n)
        logits = ops.leaky_relu(e_i + e_j, 0.2) + (m - 1.0) * 1e4
        # The product with the mask makes off-graph weights exactly 0 (softmax alone leaves ~exp(-1e4)).
        alpha = ops.softmax(logits, -1) * m
        # Functional dropout draws from a stream seeded when the graph compiles (a Dropout cell keeps its
        # own counter), so a run resumed from a checkpoint replays the same masks.
        att = ops.dropout(alpha, p=self.dropout, training=self.training) if self.dropout > 0 else alpha
        out = ops.matmul(att, wh).transpose(0, 2, 1, 3).reshape(b, n, self.heads * self.out_dim)
        if self.bias is not None:
            out = out + self.bias
        return elu(out), alpha


class SequenceGuidance(nn.Cell):
    """Skeleton graph -> two GAT layers (ELU) -> BN -> per-part vectors (eq 12) -> weights over GEM_POWERS
    -> G = sum_p w_p GeM_p over frames of the frame features (eq 11, 13).

    construct(y (B, T, C), keypoints (B, T, 17, 3), lstm_last (B, L) or None)
    -> (G (B, C), weights (B, len(GEM_POWERS)), parts (B, parts * gat_out)).
    """

    def __init__(self, seq_len: int, guide_dim: int = 0, gat_hidden: int = 16, gat_heads: int = 2,
                 gat_out: int = 12, guide_hidden: int = 128, attn_dropout: float = 0.6, feat_dropout: float = 0.3,
                 threshold: float = DEFAULT_SCORE_THRESHOLD, powers=GEM_POWERS):
        super().__init__()
        self.seq_len, self.threshold, self.powers = seq_len, threshold, tuple(powers)
        self.adj = Tensor(adjacency(seq_len, self_loops=False))
        self.eye = Tensor(np.eye(seq_len * NUM_JOINTS, dtype=np.float32))
        self.parts = Tensor(part_matrix(seq_len))  # (P, N)
        # The authors' GAT: attention dropout on both layers, feature dropout between them (training only).
        self.gat1 = GATLayer(3, gat_hidden, gat_heads, attn_dropout)
        self.gat2 = GATLayer(gat_hidden * gat_heads, gat_out, 1, attn_dropout)
        self.feat_dropout = feat_dropout
        self.bn = nn.BatchNorm1d(gat_out)
        self.parts_dim = len(BODY_PARTS) * gat_out
        self.guide_bn = nn.BatchNorm1d(guide_dim + self.parts_dim)
        self.guide = nn.SequentialCell([nn.Dense(guide_dim + self.parts_dim, guide_hidden), nn.ReLU(),
                                        nn.Dense(guide_hidden, len(self.powers))])

    def graph_mask(self, valid):
        """valid (B, N) -> (B, N, N): graph edges into valid neighbours, plus every node's self-loop."""
        b, n = valid.shape
        return self.adj.reshape(1, n, n) * valid.reshape(b, 1, n) + self.eye.reshape(1, n, n)

    def node_features(self, keypoints):
        """(B, T, 17, 3) -> GAT+BN node features (B, N, gat_out), node validity (B, N), layer-1 attention."""
        b = keypoints.shape[0]
        n = self.seq_len * NUM_JOINTS
        kp = keypoints.reshape(b, n, 3)
        valid = (kp[..., 2] >= self.threshold).astype(kp.dtype)
        h = kp * valid.reshape(b, n, 1)  # masked joints enter as (0, 0, 0)
        mask = self.graph_mask(valid)
        h, alpha = self.gat1(h, mask)
        if self.feat_dropout > 0:
            h = ops.dropout(h, p=self.feat_dropout, training=self.training)
        h, _ = self.gat2(h, mask)
        h = self.bn(h.reshape(b * n, -1)).reshape(b, n, -1)
        return h, valid, alpha

    def part_vectors(self, h, valid):
        """Eq 12: mean node feature of each body part over its valid nodes -> (B, P * F)."""
        w = self.parts.reshape(1, self.parts.shape[0], -1) * valid.reshape(valid.shape[0], 1, -1)
        w = w / ops.maximum(w.sum(-1, keepdims=True), 1e-6)
        return ops.matmul(w, h).reshape(h.shape[0], -1)

    def pool(self, y, weights):
        """Eq 13: sum_p weights[:, p] GeM_p over frames of y (B, T, C) -> (B, C)."""
        g = gem(y, self.powers[0], 1) * weights[:, 0:1]
        for i in range(1, len(self.powers)):  # unrolled at compile time; lists do not export
            g = g + gem(y, self.powers[i], 1) * weights[:, i:i + 1]
        return g

    def construct(self, y, keypoints, lstm_last=None):
        h, valid, _ = self.node_features(keypoints)
        parts = self.part_vectors(h, valid)
        guide = parts if lstm_last is None else ops.concat((lstm_last, parts), -1)
        weights = ops.softmax(self.guide(self.guide_bn(guide)), -1)
        return self.pool(y, weights), weights, parts
