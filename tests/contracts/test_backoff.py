from starreid.contracts.backoff import Backoff


def test_delays_grow_cap_and_jitter():
    b = Backoff(initial=0.1, max_delay=1.0, seed=1)
    delays = [b.next_delay() for _ in range(8)]
    nominal = [min(1.0, 0.1 * 2 ** n) for n in range(8)]
    assert all(d / 2 <= x <= d for x, d in zip(delays, nominal))
    assert max(delays) <= 1.0 and delays[-1] >= 0.5  # capped, and the cap is reached
    assert len(set(delays)) == len(delays)  # jittered, not identical


def test_reset_starts_short_again():
    b = Backoff(initial=0.1, max_delay=2.0, seed=2)
    for _ in range(6):
        b.next_delay()
    b.reset()
    assert b.next_delay() <= 0.1


def test_rejects_nonsense():
    import pytest

    with pytest.raises(ValueError):
        Backoff(initial=0, max_delay=1)
