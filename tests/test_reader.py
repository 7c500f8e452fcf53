"""The MemN2N reader: shapes, masking, empty memory, hops, weight tying, position and temporal encoding."""

from __future__ import annotations

import dataclasses

import pytest
import torch


from assistant.reader import (
    MemN2N,
    MultiHopAttention,
    ReaderConfig,
    bag_of_words,
    masked_attention,
    position_encoding,
)

SMALL = ReaderConfig(dim=8, hops=3, memory_size=10)


def random_memory(batch=2, slots=5, words=4, vocab=20, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(2, vocab, (batch, slots, words), generator=g)


def test_core_returns_a_state_per_query_and_attention_per_hop():
    core = MultiHopAttention(hops=3)
    read = core(torch.randn(4, 8), torch.randn(4, 6, 8), torch.randn(4, 6, 8), torch.ones(4, 6, dtype=torch.bool))
    assert read.state.shape == (4, 8)
    assert read.attention.shape == (4, 3, 6)
    assert torch.allclose(read.attention.sum(-1), torch.ones(4, 3))


def test_core_accepts_one_key_value_pair_per_hop():
    core = MultiHopAttention(hops=2)
    read = core(torch.randn(3, 8), torch.randn(3, 2, 5, 8), torch.randn(3, 2, 5, 8))
    assert read.attention.shape == (3, 2, 5)


def test_one_hop_is_query_plus_the_attention_weighted_values():
    torch.manual_seed(0)
    q, keys, values = torch.randn(2, 4), torch.randn(2, 3, 4), torch.randn(2, 3, 4)
    read = MultiHopAttention(hops=1)(q, keys, values)
    p = torch.softmax(torch.einsum("bmd,bd->bm", keys, q), -1)
    assert torch.allclose(read.state, q + torch.einsum("bm,bmd->bd", p, values), atol=1e-6)


def test_later_hops_attend_with_the_refined_query():
    torch.manual_seed(1)
    q, keys, values = torch.randn(1, 4), torch.randn(1, 6, 4), torch.randn(1, 6, 4)
    read = MultiHopAttention(hops=2)(q, keys, values)
    first = MultiHopAttention(hops=1)(q, keys, values)
    second = MultiHopAttention(hops=1)(first.state, keys, values)
    assert torch.allclose(read.attention[:, 1], second.attention[:, 0], atol=1e-6)
    assert torch.allclose(read.state, second.state, atol=1e-6)


def test_masked_slots_get_zero_weight_and_do_not_change_the_read():
    torch.manual_seed(2)
    q, keys, values = torch.randn(2, 4), torch.randn(2, 5, 4), torch.randn(2, 5, 4)
    mask = torch.tensor([[1, 1, 0, 0, 0], [1, 1, 1, 1, 0]], dtype=torch.bool)
    core = MultiHopAttention(hops=3)
    read = core(q, keys, values, mask)
    assert (read.attention[~mask.unsqueeze(1).expand(-1, 3, -1)] == 0).all()
    keys2, values2 = keys.clone(), values.clone()
    keys2[~mask], values2[~mask] = 100.0, -100.0
    assert torch.allclose(core(q, keys2, values2, mask).state, read.state)


def test_empty_memory_reads_zeros_not_nan():
    q = torch.randn(2, 4)
    read = MultiHopAttention(hops=3)(q, torch.randn(2, 3, 4), torch.randn(2, 3, 4), torch.zeros(2, 3, dtype=torch.bool))
    assert torch.equal(read.attention, torch.zeros(2, 3, 3))
    assert torch.equal(read.state, q)
    weights = masked_attention(torch.randn(2, 3, dtype=torch.float16), torch.zeros(2, 3, dtype=torch.bool))
    assert not weights.isnan().any() and (weights == 0).all()


def test_a_model_with_no_statements_answers_without_nan():
    model = MemN2N(20, SMALL).eval()
    out = model(torch.zeros(2, 4, 5, dtype=torch.long), torch.randint(2, 20, (2, 3)))
    assert out.logits.shape == (2, 20)
    assert torch.isfinite(out.logits).all()
    assert (out.attention == 0).all()


def test_linear_start_skips_the_softmax():
    scores, mask = torch.tensor([[2.0, -1.0, 5.0]]), torch.tensor([[True, True, False]])
    assert torch.equal(masked_attention(scores, mask, linear=True), torch.tensor([[2.0, -1.0, 0.0]]))
    model = MemN2N(20, SMALL).eval()
    model.linear_start = True
    attention = model(random_memory(), torch.randint(2, 20, (2, 3))).attention
    assert not torch.allclose(attention.sum(-1), torch.ones(2, 3))


def test_model_shapes_and_one_attention_map_per_hop():
    model = MemN2N(20, SMALL).eval()
    out = model(random_memory(batch=3, slots=7), torch.randint(2, 20, (3, 4)))
    assert out.logits.shape == (3, 20)
    assert out.attention.shape == (3, SMALL.hops, 7)


def test_adjacent_weight_tying_shares_one_table_for_a_b_c_and_w():
    vocab, cfg = 20, SMALL
    model = MemN2N(vocab, cfg)
    table = (cfg.hops + 1) * cfg.dim
    # A^1 = B, C^k = A^{k+1}, W^T = C^K: K+1 word embeddings and K+1 temporal embeddings, nothing else.
    assert sum(p.numel() for p in model.parameters()) == (vocab + model.time_slots) * table
    # The answer layer is C^K: perturbing that block, and only it among the last d columns, moves the logits.
    model.eval()
    memory, query = random_memory(), torch.randint(2, 20, (2, 3))
    before = model(memory, query).logits
    with torch.no_grad():
        model.words.weight[:, -cfg.dim :] += 1.0
    assert not torch.allclose(model(memory, query).logits, before)


def test_padding_word_embedding_stays_zero_and_untrained():
    model = MemN2N(20, SMALL)
    assert (model.words.weight[0] == 0).all()
    out = model(random_memory(), torch.randint(2, 20, (2, 3)))
    out.logits.sum().backward()
    assert (model.words.weight.grad[0] == 0).all()


def test_position_encoding_follows_section_4_1():
    weights = position_encoding(torch.tensor([3]), width=5, dim=4)[0]  # (5, 4)
    J, d = 3, 4
    for j in range(1, 6):
        for k in range(1, d + 1):
            want = (1 - j / J) - (k / d) * (1 - 2 * j / J) if j <= J else 0.0
            assert weights[j - 1, k - 1].item() == pytest.approx(want, abs=1e-6)


def test_position_encoding_makes_word_order_matter():
    table = torch.randn(10, 2 * 4)
    tokens, flipped = torch.tensor([[5, 6, 7, 0]]), torch.tensor([[7, 6, 5, 0]])
    assert not torch.allclose(bag_of_words(tokens, table, dim=4), bag_of_words(flipped, table, dim=4))
    plain = bag_of_words(tokens, table, dim=4, position=False)
    assert torch.allclose(plain, bag_of_words(flipped, table, dim=4, position=False))
    assert torch.allclose(plain, table[[5, 6, 7]].sum(0, keepdim=True))
    pe = position_encoding(torch.tensor([3]), 3, 4)[0]  # (3, 4): padding adds nothing
    direct = (table[[5, 6, 7]].view(3, 2, 4) * pe[:, None, :]).sum(0).flatten()
    assert torch.allclose(bag_of_words(tokens, table, dim=4)[0], direct, atol=1e-6)


def test_temporal_encoding_tells_the_order_of_identical_statements():
    torch.manual_seed(0)
    memory = random_memory(batch=1, slots=4)
    swapped = memory[:, [1, 0, 2, 3]]
    query = torch.randint(2, 20, (1, 3))
    with_time = MemN2N(20, SMALL).eval()
    no_time = MemN2N(20, dataclasses.replace(SMALL, temporal=False)).eval()
    no_time.load_state_dict(with_time.state_dict())
    assert not torch.allclose(with_time(memory, query).logits, with_time(swapped, query).logits)
    assert torch.allclose(no_time(memory, query).logits, no_time(swapped, query).logits, atol=1e-5)


def test_random_noise_shifts_ages_in_training_only():
    model = MemN2N(20, dataclasses.replace(SMALL, random_time=0.5))
    torch.manual_seed(0)
    ages = model.ages(64, 10, torch.device("cpu"))
    assert (ages >= torch.arange(10)).all() and (ages > torch.arange(10)).any()
    assert (ages.diff(dim=1) >= 1).all()  # order is kept
    model.eval()
    assert torch.equal(model.ages(4, 10, torch.device("cpu")), torch.arange(10).expand(4, 10))


def test_projection_between_hops_is_one_shared_map_that_changes_the_read():
    cfg = dataclasses.replace(SMALL, projection=True, relu_units=4)
    model = MemN2N(20, cfg).eval()
    plain = MemN2N(20, SMALL)
    extra = sum(p.numel() for p in model.parameters()) - sum(p.numel() for p in plain.parameters())
    assert extra == cfg.dim * cfg.dim
    memory, query = random_memory(), torch.randint(2, 20, (2, 3))
    before = model(memory, query).logits
    with torch.no_grad():
        model.attention.project.weight.mul_(2.0)
    assert not torch.allclose(model(memory, query).logits, before)
