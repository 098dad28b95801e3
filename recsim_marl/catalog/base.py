"""What a catalogue is: texts for items and people, plus the item priors the simulator needs."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Catalog:
    """Texts and priors of one world (host-side numpy; turned into device tensors by the core).

    item_texts: I strings, the ground truth of content.
    user_texts: U strings (people's profiles; also shown when rendering).
    item_quality: ``[I]`` float, roughly standardised (mean 0, std 1).
    item_length: ``[I]`` float > 0, how much engagement a fully satisfied click yields.
    item_appeal: ``[I]`` float, roughly standardised: how clickable the title and picture are, apart from
        how good the item is (quality). Zeros when the catalogue has no notion of it.
    user_liked_items: optional, per person the item indices they liked; when given, the profile vector
        is the mean embedding of those items instead of the embedding of the person's text.
    user_activity: optional ``[U]`` float > 0, how active each person is relative to the median person
        (1): their return rate is scaled by it (MovieLens: their number of ratings / the median's).
    item_counts, user_counts: optional, the data's consumption counts (MovieLens: ratings per item and
        per person), kept for calibration (``benchmarks/calibration.py``).
    """

    item_texts: list[str]
    user_texts: list[str]
    item_quality: np.ndarray
    item_length: np.ndarray
    item_appeal: np.ndarray | None = None
    user_liked_items: list[np.ndarray] | None = None
    user_activity: np.ndarray | None = None
    item_counts: np.ndarray | None = None
    user_counts: np.ndarray | None = None
    name: str = "custom"
    item_titles: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        n = len(self.item_texts)
        if self.item_quality.shape != (n,) or self.item_length.shape != (n,):
            raise ValueError(
                f"catalog {self.name!r}: item_quality {self.item_quality.shape} and item_length "
                f"{self.item_length.shape} must both have shape ({n},)"
            )
        if self.item_appeal is None:
            self.item_appeal = np.zeros(n)
        if self.item_appeal.shape != (n,) or not np.all(np.isfinite(self.item_appeal)):
            raise ValueError(f"catalog {self.name!r}: item_appeal must be {n} finite numbers")
        if not np.all(self.item_length > 0):
            raise ValueError(f"catalog {self.name!r}: item lengths must be > 0")
        if self.user_activity is None:
            self.user_activity = np.ones(len(self.user_texts))
        if self.user_activity.shape != (len(self.user_texts),) or not np.all(self.user_activity > 0):
            raise ValueError(f"catalog {self.name!r}: user_activity must be {len(self.user_texts)} numbers > 0")
        if self.user_liked_items is not None and len(self.user_liked_items) != len(self.user_texts):
            raise ValueError(f"catalog {self.name!r}: one liked-item list per person is needed")
        if not self.item_titles:
            self.item_titles = [t.split(".")[0][:40] for t in self.item_texts]
