"""Splits of a dataset's classes into two disjoint sets A and B.

Transfer experiments in the style of Yosinski et al. (2014), "How transferable are features
in deep neural networks?", train a network on classes A and transfer it to classes B. Two
kinds of split are provided: random halves (similar tasks: A and B come from one pool) and
semantic halves (dissimilar tasks), e.g. Yosinski's natural vs man-made ImageNet classes,
here by the superclasses of CIFAR-100.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

import torch

from . import digits, glyphs, real, shapes

__all__ = [
    "random_halves",
    "semantic_split",
    "SEMANTIC_SPLITS",
    "CIFAR100_SUPERCLASSES",
    "CIFAR100_MANMADE_SUPERCLASSES",
]

Split = tuple[tuple[str, ...], tuple[str, ...]]


def random_halves(classes: Sequence[str], seed: int) -> Split:
    """Split ``classes`` at random into two disjoint halves that cover them.

    A :class:`torch.Generator` seeded with ``seed`` permutes the classes; the first
    ``floor(K / 2)`` go to A and the rest to B. Each half keeps the order of ``classes``.
    """
    if isinstance(classes, str):
        classes = tuple(classes)
    names = tuple(str(c) for c in classes)
    if len(names) < 2:
        raise ValueError(f"need at least two classes to split, got {names}")
    if len(set(names)) != len(names):
        raise ValueError(f"class names repeat in {names}")
    g = torch.Generator().manual_seed(int(seed))
    perm = torch.randperm(len(names), generator=g)
    half = len(names) // 2
    first = sorted(perm[:half].tolist())
    second = sorted(perm[half:].tolist())
    return tuple(names[i] for i in first), tuple(names[i] for i in second)


#: The 20 superclasses of CIFAR-100 and their five fine classes each (Krizhevsky, 2009).
CIFAR100_SUPERCLASSES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "aquatic_mammals": ("beaver", "dolphin", "otter", "seal", "whale"),
        "fish": ("aquarium_fish", "flatfish", "ray", "shark", "trout"),
        "flowers": ("orchid", "poppy", "rose", "sunflower", "tulip"),
        "food_containers": ("bottle", "bowl", "can", "cup", "plate"),
        "fruit_and_vegetables": ("apple", "mushroom", "orange", "pear", "sweet_pepper"),
        "household_electrical_devices": ("clock", "keyboard", "lamp", "telephone", "television"),
        "household_furniture": ("bed", "chair", "couch", "table", "wardrobe"),
        "insects": ("bee", "beetle", "butterfly", "caterpillar", "cockroach"),
        "large_carnivores": ("bear", "leopard", "lion", "tiger", "wolf"),
        "large_man-made_outdoor_things": ("bridge", "castle", "house", "road", "skyscraper"),
        "large_natural_outdoor_scenes": ("cloud", "forest", "mountain", "plain", "sea"),
        "large_omnivores_and_herbivores": ("camel", "cattle", "chimpanzee", "elephant", "kangaroo"),
        "medium_mammals": ("fox", "porcupine", "possum", "raccoon", "skunk"),
        "non-insect_invertebrates": ("crab", "lobster", "snail", "spider", "worm"),
        "people": ("baby", "boy", "girl", "man", "woman"),
        "reptiles": ("crocodile", "dinosaur", "lizard", "snake", "turtle"),
        "small_mammals": ("hamster", "mouse", "rabbit", "shrew", "squirrel"),
        "trees": ("maple_tree", "oak_tree", "palm_tree", "pine_tree", "willow_tree"),
        "vehicles_1": ("bicycle", "bus", "motorcycle", "pickup_truck", "train"),
        "vehicles_2": ("lawn_mower", "rocket", "streetcar", "tank", "tractor"),
    }
)

#: Superclasses of man-made objects; the other 14 (70 classes) are natural.
CIFAR100_MANMADE_SUPERCLASSES = (
    "food_containers",
    "household_electrical_devices",
    "household_furniture",
    "large_man-made_outdoor_things",
    "vehicles_1",
    "vehicles_2",
)


def _ordered(classes: Sequence[str], members: set[str] | Sequence[str]) -> tuple[str, ...]:
    keep = set(members)
    return tuple(c for c in classes if c in keep)


def _without(classes: Sequence[str], excluded: Sequence[str]) -> tuple[str, ...]:
    return tuple(c for c in classes if c not in set(excluded))


def _complement(classes: Sequence[str], first: Sequence[str]) -> Split:
    return _ordered(classes, first), _without(classes, first)


def _cifar100_natural_vs_manmade() -> Split:
    manmade = [c for s in CIFAR100_MANMADE_SUPERCLASSES for c in CIFAR100_SUPERCLASSES[s]]
    return _without(real.CIFAR100_CLASSES, manmade), _ordered(real.CIFAR100_CLASSES, manmade)


_FASHION_ACCESSORIES = ("Sandal", "Sneaker", "Bag", "Ankle boot")
_CIFAR10_VEHICLES = ("airplane", "automobile", "ship", "truck")
_LOW_DIGITS = tuple("01234")

#: ``SEMANTIC_SPLITS[dataset][split_name] = (classes A, classes B)``; each name reads
#: "A_vs_B". Class names are those of the dataset with its default options.
SEMANTIC_SPLITS: Mapping[str, Mapping[str, Split]] = MappingProxyType(
    {
        "glyphs": MappingProxyType(
            {
                "digits_vs_letters": (tuple(glyphs.DIGITS), tuple(glyphs.LETTERS)),
                "letters_a_to_m_vs_n_to_z": (
                    tuple(glyphs.LETTERS[:13]),
                    tuple(glyphs.LETTERS[13:]),
                ),
            }
        ),
        "digits": MappingProxyType({"low_vs_high": _complement(digits.CLASSES, _LOW_DIGITS)}),
        "shapes": MappingProxyType(
            {"shapes_vs_textures": (shapes.SHAPE_CLASSES, shapes.TEXTURE_CLASSES)}
        ),
        "mnist": MappingProxyType({"low_vs_high": _complement(real.MNIST_CLASSES, _LOW_DIGITS)}),
        "svhn": MappingProxyType({"low_vs_high": _complement(real.SVHN_CLASSES, _LOW_DIGITS)}),
        "fashion-mnist": MappingProxyType(
            {
                "clothing_vs_accessories": (
                    _without(real.FASHION_MNIST_CLASSES, _FASHION_ACCESSORIES),
                    _ordered(real.FASHION_MNIST_CLASSES, _FASHION_ACCESSORIES),
                )
            }
        ),
        "emnist-letters": MappingProxyType(
            {
                "letters_a_to_m_vs_n_to_z": (
                    real.EMNIST_LETTERS_CLASSES[:13],
                    real.EMNIST_LETTERS_CLASSES[13:],
                )
            }
        ),
        "cifar10": MappingProxyType(
            {"vehicles_vs_animals": _complement(real.CIFAR10_CLASSES, _CIFAR10_VEHICLES)}
        ),
        "cifar100": MappingProxyType({"natural_vs_manmade": _cifar100_natural_vs_manmade()}),
    }
)


def semantic_split(dataset: str, split_name: str) -> Split:
    """The named semantic split ``(A classes, B classes)`` of ``dataset``.

    Available splits:

    - glyphs ``digits_vs_letters`` (10 vs 26) and ``letters_a_to_m_vs_n_to_z`` (13 vs 13;
      digits belong to neither);
    - digits, mnist, svhn ``low_vs_high``: 0-4 vs 5-9;
    - shapes ``shapes_vs_textures``: 6 filled shapes vs 4 textures;
    - fashion-mnist ``clothing_vs_accessories``: 6 garments vs footwear and bags (4);
    - emnist-letters ``letters_a_to_m_vs_n_to_z``;
    - cifar10 ``vehicles_vs_animals``: 4 vs 6;
    - cifar100 ``natural_vs_manmade``: 70 vs 30 classes, by superclass, after Yosinski et al.
      (2014), whose ImageNet split was 551 natural vs 449 man-made classes.
    """
    if dataset not in SEMANTIC_SPLITS:
        raise ValueError(
            f"no semantic splits for dataset {dataset!r}; datasets with semantic splits: "
            f"{sorted(SEMANTIC_SPLITS)}"
        )
    splits = SEMANTIC_SPLITS[dataset]
    if split_name not in splits:
        raise ValueError(
            f"unknown semantic split {split_name!r} of dataset {dataset!r}; "
            f"its splits: {sorted(splits)}"
        )
    return splits[split_name]
