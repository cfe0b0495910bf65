"""Few-shot learning: N-way K-shot episodes over task collections, and diverse support sets.

``episodes`` samples seeded, stratified episodes whose support and query share no compound;
``support`` chooses K rows of a pool (k-means on embeddings, then the member nearest each centre,
or at random). The task collections themselves live in ``chemtl.data.tasks``.
"""

from __future__ import annotations

from chemtl.transfer.fewshot.episodes import Episode, EpisodeError, sample_episode, sample_episodes
from chemtl.transfer.fewshot.support import SELECT_METHODS, kmeans_select, random_select, select_rows

__all__ = [
    "SELECT_METHODS",
    "Episode",
    "EpisodeError",
    "kmeans_select",
    "random_select",
    "sample_episode",
    "sample_episodes",
    "select_rows",
]
