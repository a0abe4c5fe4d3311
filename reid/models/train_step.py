"""One optimisation step of STAR (forward, eq 15 loss, gradients, update), compiled to a graph by ms.jit."""
from __future__ import annotations

import mindspore as ms
from mindspore import nn, ops


def make_optimizer(net: nn.Cell, lr, optim) -> nn.Optimizer:
    """SGD with momentum (Nesterov's when optim.nesterov) and weight decay from the optim config section; the
    backbone learns at
    optim.backbone_lr_scale x lr (lr a float or a per-step list)."""
    backbone = [p for p in net.trainable_params() if p.name.startswith("backbone.")]
    heads = [p for p in net.trainable_params() if not p.name.startswith("backbone.")]
    k = optim.backbone_lr_scale
    scaled = [x * k for x in lr] if isinstance(lr, (list, tuple)) else lr * k
    groups = [{"params": backbone, "lr": scaled}, {"params": heads, "lr": lr}]
    return nn.Momentum(groups, learning_rate=lr, momentum=optim.momentum, weight_decay=optim.weight_decay,
                       use_nesterov=optim.nesterov)


class TrainStep:
    """step(clips, keypoints, modality, labels) -> (total loss, [id, triplet, kl, sad]) as Tensors.

    labels int32 (B,). The network is put in training mode; with jit=True the whole step is one graph.
    """

    def __init__(self, net: nn.Cell, loss: nn.Cell, optimizer: nn.Optimizer, *, jit: bool,
                 grad_reducer: nn.Cell | None = None):
        self.net, self.loss, self.optimizer = net, loss, optimizer

        def forward(clips, keypoints, modality, labels):
            total, l_id, l_tri, l_kl, l_sad = loss(*net(clips, keypoints, modality), labels)
            return total, ops.stack((l_id, l_tri, l_kl, l_sad))

        self.grad_fn = ms.value_and_grad(forward, None, optimizer.parameters, has_aux=True)

        def step(clips, keypoints, modality, labels):
            (total, parts), grads = self.grad_fn(clips, keypoints, modality, labels)
            if grad_reducer is not None:  # data-parallel: average gradients across workers
                grads = grad_reducer(grads)
            optimizer(grads)
            return total, parts

        self._plain_step, self._jit = step, jit
        self.recompile()

    def recompile(self) -> None:
        """A fresh graph: in-graph random ops (SAD partners, dropout) restart from the current global seed,
        which is how a resumed run replays the randomness of an uninterrupted one."""
        self._step = ms.jit(self._plain_step) if self._jit else self._plain_step

    def __call__(self, clips, keypoints, modality, labels):
        self.net.set_train(True)
        return self._step(clips, keypoints, modality, labels)
