"""Plots every training notebook ends with."""

from __future__ import annotations

import matplotlib.pyplot as plt


def logged(log_history: list[dict], key: str) -> tuple[list[int], list[float]]:
    """(steps, values) of `key` in a Trainer's state.log_history."""
    pts = [(h["step"], h[key]) for h in log_history if key in h and "step" in h]
    return [p[0] for p in pts], [p[1] for p in pts]


def plot_curves(log_history: list[dict], keys: list[str], tokens_per_step: int | None = None, title: str = ""):
    """One panel per logged key against steps; a second x-axis shows tokens seen when tokens_per_step is given."""
    fig, axes = plt.subplots(1, len(keys), figsize=(4.5 * len(keys), 3), squeeze=False)
    for ax, key in zip(axes[0], keys):
        steps, values = logged(log_history, key)
        ax.plot(steps, values, marker=".")
        ax.set_xlabel("step")
        ax.set_title(key)
        if tokens_per_step:
            top = ax.secondary_xaxis("top", functions=(lambda s: s * tokens_per_step, lambda t: t / tokens_per_step))
            top.set_xlabel("tokens seen")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
