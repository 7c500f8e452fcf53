"""The decay policy's math: property tests (hypothesis) and the documented anchor values."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memory_store import DecayConfig
from memory_store import decay
from memory_store.records import Fact
from conftest import T0

FSRS = DecayConfig()
ACTR = DecayConfig(model="actr")

days = st.floats(min_value=0.0, max_value=5_000.0, allow_nan=False)
stabilities = st.floats(min_value=0.05, max_value=10_000.0, allow_nan=False)
retentions = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


def fact(stability=5.0, importance=0.5, pinned=False, recalls=0, age_days=0.0, since_days=0.0) -> Fact:
    created = T0 - timedelta(days=age_days)
    return Fact(
        id=1, user="u", text="x", created_at=created, importance=importance, pinned=pinned, stability=stability,
        last_review=T0 - timedelta(days=since_days), recall_count=recalls, status="active", status_at=created,
    )


def test_fsrs_stability_is_the_time_to_ninety_percent():
    assert decay.fsrs_retention(7.0, 7.0, FSRS) == pytest.approx(0.9)
    assert decay.fsrs_retention(0.0, 7.0, FSRS) == 1.0


@given(t1=days, t2=days, s=stabilities)
def test_retention_never_rises_with_time(t1, t2, s):
    lo, hi = sorted((t1, t2))
    assert decay.fsrs_retention(hi, s, FSRS) <= decay.fsrs_retention(lo, s, FSRS)


@given(t=days, s1=stabilities, s2=stabilities)
def test_retention_rises_with_stability(t, s1, s2):
    lo, hi = sorted((s1, s2))
    assert decay.fsrs_retention(t, hi, FSRS) >= decay.fsrs_retention(t, lo, FSRS)


@given(t=days, s=stabilities)
def test_retention_is_a_probability(t, s):
    assert 0.0 < decay.fsrs_retention(t, s, FSRS) <= 1.0


@given(s=stabilities, r1=retentions, r2=retentions)
def test_recall_near_forgetting_strengthens_more(s, r1, r2):
    low, high = sorted((r1, r2))
    assert decay.reinforce(s, low, FSRS) >= decay.reinforce(s, high, FSRS) >= s


def test_recall_at_full_retention_teaches_nothing():
    assert decay.reinforce(5.0, 1.0, FSRS) == pytest.approx(5.0)


@given(since=days, age=days, recalls=st.integers(0, 50), importance=retentions)
@settings(max_examples=200)
def test_pinned_facts_never_fade(since, age, recalls, importance):
    for cfg in (FSRS, ACTR):
        f = fact(pinned=True, since_days=since, age_days=max(age, since), recalls=recalls, importance=importance)
        assert decay.retention(f, T0, cfg) == 1.0
        assert decay.fades_in_days(f, T0, cfg) is None


@given(i1=retentions, i2=retentions)
def test_importance_sets_initial_stability(i1, i2):
    lo, hi = sorted((i1, i2))
    assert FSRS.min_stability <= decay.initial_stability(lo, FSRS) <= decay.initial_stability(hi, FSRS) <= FSRS.max_stability + 1e-9


@given(since=days, s=stabilities, recalls=st.integers(0, 20), importance=retentions, age_extra=days)
@settings(max_examples=200)
def test_scalar_and_vectorised_retention_agree(since, s, recalls, importance, age_extra):
    for cfg in (FSRS, ACTR):
        f = fact(stability=s, since_days=since, age_days=since + age_extra, recalls=recalls, importance=importance)
        vec = decay.retention_of(
            created_at=np.array([f.created_at.timestamp()]), last_review=np.array([f.last_review.timestamp()]),
            stability=np.array([s]), recall_count=np.array([recalls]), importance=np.array([importance]),
            pinned=np.array([False]), now=T0.timestamp(), config=cfg,
        )
        assert decay.retention(f, T0, cfg) == pytest.approx(float(vec[0]), rel=1e-9, abs=1e-12)


@given(since=days, age_extra=days, recalls=st.integers(0, 20))
def test_actr_retention_falls_with_time(since, age_extra, recalls):
    f = fact(since_days=since, age_days=since + age_extra, recalls=recalls)
    later = T0 + timedelta(days=30)
    assert decay.retention(f, later, ACTR) <= decay.retention(f, T0, ACTR) + 1e-12


@given(s=st.floats(0.1, 1000.0), since=st.floats(0.0, 100.0))
def test_fade_forecast_lands_on_the_threshold(s, since):
    for cfg in (FSRS, ACTR):
        f = fact(stability=s, since_days=since, age_days=since)
        d = decay.fades_in_days(f, T0, cfg)
        if d is None or d == 0.0:
            continue
        at = T0 + timedelta(days=d)
        assert decay.retention(f, at + timedelta(minutes=2), cfg) < cfg.dormant_below
        assert decay.retention(f, at - timedelta(minutes=2), cfg) >= cfg.dormant_below - 1e-9


def test_a_default_fact_fades_within_a_few_months_and_an_important_one_within_two_years():
    default = fact(stability=float(decay.initial_stability(0.5, FSRS)))
    important = fact(stability=float(decay.initial_stability(1.0, FSRS)))
    assert 20 < decay.fades_in_days(default, T0, FSRS) < 120
    assert 200 < decay.fades_in_days(important, T0, FSRS) < 730


def test_spaced_recalls_outlast_crammed_ones():
    """Three recalls a week apart leave a fact more stable than three recalls in one afternoon."""
    def run(gaps_days):
        f = fact(stability=float(decay.initial_stability(0.5, FSRS)))
        at = T0
        for gap in gaps_days:
            at = at + timedelta(days=gap)
            r = decay.retention(f, at, FSRS)
            f = replace(f, stability=decay.reinforce(f.stability, r, FSRS), last_review=at)
        return f.stability

    assert run([7, 7, 7]) > 2 * run([0.05, 0.05, 0.05])


def test_bad_configuration_is_refused():
    with pytest.raises(ValueError):
        DecayConfig(model="ebbinghaus")
    with pytest.raises(ValueError):
        DecayConfig(dormant_below=1.5)
