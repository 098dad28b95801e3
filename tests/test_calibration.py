"""movielens-100k stays within the calibration bands of issue 8 (benchmarks/calibration.py, one episode)."""

from benchmarks.calibration import BANDS, simulate


def test_movielens_consumption_is_within_the_bands_of_the_data():
    sim, real, ctr = simulate(episodes=1, seed=0)
    for name, (ok, band) in BANDS.items():
        assert ok(sim[name], real[name]), (name, sim[name], real[name], band)
    assert 0.05 < ctr < 0.95
    assert real["item_gini"] > 0.5  # the data side is MovieLens, not something empty
