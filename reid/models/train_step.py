"""One optimisation step (forward, the model's loss, gradients, update), compiled to a graph by ms.jit.

The loss declares its terms (`terms`, the names of the parts it returns after the total) and their weights per
epoch (`weights(epoch)`); the weights enter the graph as an input, so a schedule that switches a term on (IBAN's
reconstruction) changes no graph."""
from __future__ import annotations

import mindspore as ms
from mindspore import nn, ops


BACKBONES = ("backbone.", "anaglyph.")


def make_optimizer(net: nn.Cell, lr, optim) -> nn.Optimizer:
    """SGD with momentum (Nesterov's when optim.nesterov) and weight decay from the optim config section; the
    backbones (IBAN's anaglyph one too) learn at optim.backbone_lr_scale x lr (lr a float or a per-step
    list)."""
    backbone = [p for p in net.trainable_params() if p.name.startswith(BACKBONES)]
    heads = [p for p in net.trainable_params() if not p.name.startswith(BACKBONES)]
    k = optim.backbone_lr_scale
    scaled = [x * k for x in lr] if isinstance(lr, (list, tuple)) else lr * k
    groups = [{"params": backbone, "lr": scaled}, {"params": heads, "lr": lr}]
    return nn.Momentum(groups, learning_rate=lr, momentum=optim.momentum, weight_decay=optim.weight_decay,
                       use_nesterov=optim.nesterov)


class TrainStep:
    """step(clips, keypoints, modality, labels, epoch=0) -> (total loss, the loss's terms stacked) as Tensors.

    labels int32 (B,); epoch (0-based) chooses the term weights. The network is put in training mode; with
    jit=True the whole step is one graph.
    """

    def __init__(self, net: nn.Cell, loss: nn.Cell, optimizer: nn.Optimizer, *, jit: bool,
                 grad_reducer: nn.Cell | None = None):
        self.net, self.loss, self.optimizer = net, loss, optimizer

        def forward(clips, keypoints, modality, labels, weights):
            out = loss(*net(clips, keypoints, modality), labels, weights)
            return out[0], ops.stack(out[1:])

        self.grad_fn = ms.value_and_grad(forward, None, optimizer.parameters, has_aux=True)

        def step(clips, keypoints, modality, labels, weights):
            (total, parts), grads = self.grad_fn(clips, keypoints, modality, labels, weights)
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

    @property
    def terms(self) -> tuple[str, ...]:
        return tuple(self.loss.terms)

    def __call__(self, clips, keypoints, modality, labels, epoch: int = 0):
        self.net.set_train(True)
        weights = ms.Tensor(self.loss.weights(epoch), ms.float32)
        return self._step(clips, keypoints, modality, labels, weights)
