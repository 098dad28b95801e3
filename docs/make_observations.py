"""Write docs/observations.md: the observation fields of every group, from the one table that declares
them (``recsim_marl.core.observation.FIELDS``). Run ``python docs/make_observations.py``; a test fails
when the committed page and the table differ."""

from __future__ import annotations

from pathlib import Path

from recsim_marl.core.observation import field_table

PAGE = Path(__file__).with_name("observations.md")
TITLES = {"users": "User agents", "items": "Item agents",
          "state": "State (`state()`, for centralised critics: it holds hidden variables)"}


def render() -> str:
    parts = [
        "# Observation fields\n",
        "Generated from `recsim_marl/core/observation.py` (`FIELDS`, where each field is declared once) by "
        "`python docs/make_observations.py`; a test keeps this page in step with the code.\n",
        "Symbols: D = `embed_dim`, K = `num_candidates`, U = `num_users`, I = `num_items`. A bound marked * "
        "comes from the config (`recsim_marl.core.observation.bounds`). Each field is a contiguous slice of "
        "the flat float32 vector, in the order below: `recsim_marl.observation_layout(config)[group]` gives "
        "the slices, and `lay.read(obs, name)` reads one field.\n",
    ]
    for group, title in TITLES.items():
        parts += [f"## {title}\n", field_table(group) + "\n"]
    return "\n".join(parts)


if __name__ == "__main__":
    PAGE.write_text(render())
    print(f"wrote {PAGE}")
