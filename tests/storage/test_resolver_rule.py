"""The resolver's decision rule, vectorised over candidates, decides as the plain per-candidate rule does.

The reference below is the rule written one candidate at a time (as the resolver did before it was
vectorised): every exemplar that clears the threshold of its modality pair proposes its identity with its
margin; identities are tried widest margin first, the transit rule may veto one; otherwise a new identity.
"""
import uuid

import numpy as np
import pytest

from support.embeddings import Population
from starreid.storage.resolver import Decision, Identity, Observation, Resolver, pair_key

THRESHOLDS = {"rgb_rgb": 0.65, "ir_ir": 0.62, "rgb_ir": 0.55}


class PerCandidateResolver(Resolver):
    """The reference: the same state and updates, the decision made one candidate at a time in Python."""

    def _decide(self, obs, scores, ids, touched, now):
        index = self.indexes[obs.model]
        ok = ids >= 0
        ids, scores = ids[ok], scores[ok]
        if touched.row:
            t_ids, t_scores = touched.scores(obs.vector)
            keep = np.fromiter((i not in touched.row for i in ids.tolist()), bool, len(ids))
            ids, scores = np.concatenate([ids[keep], t_ids]), np.concatenate([scores[keep], t_scores])
        best, nearest = {}, (0.0, None)
        thresholds = self.per_model.get(obs.model, self.thresholds)
        for k in range(len(ids)):
            owner = self._owner.get(int(ids[k]))
            if owner is None:
                continue
            score = float(scores[k])
            iid, modality = owner
            pair = pair_key(obs.modality, modality)
            if score > nearest[0]:
                nearest = (score, pair)
            margin = score - thresholds[pair]
            if margin >= 0 and margin > best.get(iid, (-1.0,))[0]:
                best[iid] = (margin, score, pair)
        for iid, (_, score, pair) in sorted(best.items(), key=lambda kv: -kv[1][0]):
            ident = self.identities[iid]
            if self._transit_ok(ident, obs):
                return Decision(iid, "matched", score, pair, self._update(ident, obs, index, touched, now))
        ident = Identity(iid=uuid.uuid4().hex[:16], model=obs.model, created=now, last_seen=now)
        self.identities[ident.iid] = ident
        return Decision(ident.iid, "new", nearest[0], nearest[1], self._update(ident, obs, index, touched, now))


def _resolver(cls, **over):
    args = dict(calibrated={"cal": {"rgb_ir": 0.5}}, exemplars=4, novelty=0.9, candidates=16, min_transit_s=None,
                exact_below=100, pca_dim=32, nlist=None, nprobe=8, pq_bytes=None, rows_dir=None, search_threads=2)
    args.update(over)
    return cls(THRESHOLDS, **args)


def _decisions(resolver, batches):
    """Each decision as (kind, score, pair, index of the observation that created its identity)."""
    creator, out = {}, []
    for at, batch in enumerate(batches):
        for k, dec in enumerate(resolver.resolve(batch, float(at))):
            creator.setdefault(dec.iid, (at, k))
            out.append((dec.kind, round(dec.score, 5), dec.pair, creator[dec.iid]))
    return out


@pytest.mark.parametrize("min_transit_s", [None, 40.0])
def test_vectorised_rule_decides_as_the_per_candidate_rule(min_transit_s):
    """Two models (one calibrated), both modalities, four cameras, batches large enough that many decisions
    see the batch's own writes, past the switch to the approximate index; with and without the transit rule
    (which makes the rule fall through to the second-best identity)."""
    rng = np.random.default_rng(7)
    pop = Population(60, dim=128, rank=24, seed=8)
    n = 900
    truth = rng.integers(0, 60, n)
    cams = rng.integers(0, 4, n)
    ir = cams >= 2
    vecs = pop.observe(pop.centres[truth], ir, 0.6, rng, truth)
    models = np.where(rng.random(n) < 0.3, "cal", "plain")
    obs = [Observation(f"t{i}", f"cam{cams[i]}", "ir" if ir[i] else "rgb", 5.0 * i, 5.0 * i + 2.4, vecs[i],
                       str(models[i])) for i in range(n)]
    batches = [obs[at: at + size] for at, size in zip(range(0, n, 75), [1, 75, 3] * 100)]
    fast = _resolver(Resolver, min_transit_s=min_transit_s)
    slow = _resolver(PerCandidateResolver, min_transit_s=min_transit_s)
    got, want = _decisions(fast, batches), _decisions(slow, batches)
    assert got == want
    kinds = {k for k, *_ in got}
    assert kinds == {"new", "matched"}
    assert {p for _, _, p, _ in got if p} == {"rgb_rgb", "ir_ir", "rgb_ir"}
    assert any(ix.approximate for ix in fast.indexes.values())


def test_a_dropped_identity_is_never_matched_again():
    resolver = _resolver(Resolver)
    vec = np.zeros(64, np.float32)
    vec[0] = 1.0
    first = resolver.resolve([Observation("a", "cam0", "rgb", 0.0, 1.0, vec, "plain")], 0.0)[0]
    assert resolver.resolve([Observation("b", "cam0", "rgb", 2.0, 3.0, vec, "plain")], 1.0)[0].iid == first.iid
    assert resolver.drop(first.iid)
    again = resolver.resolve([Observation("c", "cam0", "rgb", 4.0, 5.0, vec, "plain")], 2.0)[0]
    assert again.kind == "new" and again.iid != first.iid and again.score == 0.0
