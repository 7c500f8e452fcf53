"""What a reply says about memory: acknowledgements that restate the stored fact and nothing more."""

from __future__ import annotations

from conftest import T0
from assistant.wording import NOTHING_DONE, acknowledged, lower_first


def test_an_acknowledgement_restates_the_fact_stored_and_adds_nothing(store):
    bike = store.add("I have a bike.", now=T0)
    assert acknowledged("Thanks, I'll remember that you have a bike.", [bike], []) == \
        "Thanks, I'll remember that you have a bike."
    assert acknowledged("Thanks, I'll remember that you have a bike called bike.", [bike], []) == \
        "Ok, I'll remember that you have a bike."  # the generator's addition is not said
    assert acknowledged("Ok, I've updated that: you have a bike.", [bike], []) == \
        "Ok, I'll remember that you have a bike."  # nothing was updated
    assert acknowledged("Ok, I've updated that: you have a bike.", [bike], [bike]) == \
        "Ok, I've updated that: you have a bike."


def test_a_turn_that_stored_nothing_never_claims_it_did(store):
    assert acknowledged("Ok, I'll remember that.", [], []) == NOTHING_DONE
    assert acknowledged("I am doing well.", [], []) == "I am doing well."
    assert lower_first("My sister lives in Rome") == "my sister lives in Rome"
    assert lower_first("Ana lives in Rome") == "Ana lives in Rome"  # a name keeps its capital
