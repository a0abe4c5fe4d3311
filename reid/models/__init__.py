"""The re-identification models (MindSpore): STAR and IBAN, chosen by the model config's arch."""
from starreid.reid.models.iban import IBAN, build_iban
from starreid.reid.models.star import STAR, VARIANTS, EmbeddingNet, build_star


def build_model(model, num_classes: int = 0, sad: bool = False):
    """STAR or IBAN from a model config section (model.arch); num_classes > 0 builds the training parts."""
    if model.arch == "iban":
        if sad:
            raise ValueError("IBAN has no style disturbance")
        return build_iban(model, num_classes=num_classes)
    return build_star(model, num_classes=num_classes, sad=sad)


def build_loss(loss, net):
    """The loss of a network from the training config's loss section (StarLoss or IbanLoss)."""
    from starreid.reid.losses import IbanLoss, StarLoss

    return (IbanLoss if isinstance(net, IBAN) else StarLoss).from_config(loss, net)


__all__ = ["IBAN", "STAR", "VARIANTS", "EmbeddingNet", "build_iban", "build_loss", "build_model", "build_star"]
