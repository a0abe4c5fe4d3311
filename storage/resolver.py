"""Identity resolution in memory: match an embedding against identity exemplars, or start a new identity.

The state here is a cache of Redis (rebuilt from it at start); the service commits every change this module
reports before it acknowledges the tracklet. One resolver per deployment: decisions are sequential.
"""
from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from starreid.contracts.wire import MODALITIES
from starreid.storage.vectors import ExemplarIndex

MAX_MERGED = 50  # an exemplar is a running mean over at most this many embeddings, so it keeps adapting
MODALITY_CODE = {m: code for code, m in enumerate(MODALITIES)}


def pair_key(a: str, b: str) -> str:
    return "rgb_ir" if a != b else f"{a}_{a}"


@dataclass
class Identity:
    iid: str
    model: str
    created: float
    last_seen: float
    sightings: int = 0
    cams: dict[str, tuple[float, float]] = field(default_factory=dict)  # camera -> last (start, end) there
    slots: dict[str, list[list[int]]] = field(default_factory=dict)  # modality -> [[vector id, merged], ...]


@dataclass
class Observation:
    tid: str
    camera: str
    modality: str
    start: float
    end: float
    vector: np.ndarray
    model: str


@dataclass
class Decision:
    iid: str
    kind: str  # new | matched
    score: float  # best cosine to the chosen identity (new: to the nearest identity, 0 if none)
    pair: str | None  # modality pair of the best score
    exemplar: tuple[str, int, np.ndarray, int]  # (modality, slot, vector, merged) written to Redis


class Resolver:
    def __init__(self, thresholds: dict[str, float], *, calibrated: dict[str, dict[str, float]], exemplars: int,
                 novelty: float, candidates: int,
                 min_transit_s: float | None, exact_below: int, pca_dim: int | None, nlist: int | None, nprobe: int,
                 pq_bytes: int | None, rows_dir: str | None, search_threads: int):
        self.thresholds = dict(thresholds)
        # model id -> thresholds learnt for it (a calibration); pairs it did not learn keep the configured ones
        self.per_model = {model: {**self.thresholds, **learnt} for model, learnt in calibrated.items()}
        self._threshold_tables: dict[str, np.ndarray] = {}
        self.exemplars = exemplars
        self.novelty = novelty
        self.candidates = candidates
        self.min_transit_s = min_transit_s
        self._index_args = dict(exact_below=exact_below, pca_dim=pca_dim, nlist=nlist, nprobe=nprobe,
                                search_threads=search_threads)
        self.pq_bytes, self.rows_dir = pq_bytes, Path(rows_dir) if rows_dir else None
        self.indexes: dict[str, ExemplarIndex] = {}
        self.identities: dict[str, Identity] = {}
        self._owner: dict[int, tuple[str, str]] = {}  # vector id -> (identity, modality)
        # The same, as arrays indexed by vector id, for the decision rule's vectorised part: the modality code
        # of each exemplar (-1: no exemplar), and whether the current batch rewrote it.
        self._mod_of = np.full(1024, -1, np.int8)
        self._in_batch = np.zeros(1024, bool)
        self._next_vid = 0

    @classmethod
    def from_config(cls, gallery, calibrated: dict[str, dict[str, float]] | None = None) -> "Resolver":
        """From the gallery config section (thresholds, exemplars, novelty, candidates, transit, index);
        calibrated: model id -> the thresholds a calibration learnt for that model."""
        return cls(gallery.thresholds.model_dump(), calibrated=calibrated or {}, exemplars=gallery.exemplars_per_identity,
                   novelty=gallery.novelty, candidates=gallery.candidates, min_transit_s=gallery.min_transit_s,
                   exact_below=gallery.exact_below, pca_dim=gallery.index.pca_dim, nlist=gallery.index.nlist,
                   nprobe=gallery.index.nprobe, pq_bytes=gallery.index.pq_bytes, rows_dir=gallery.index.rows_dir,
                   search_threads=gallery.index.search_threads)

    # ------------------------------------------------------------ state
    def index_for(self, model: str, dim: int) -> ExemplarIndex:
        index = self.indexes.get(model)
        if index is None:
            # one file per model; the id is any string, so the file is named by its hash
            rows = self.rows_dir / f"{hashlib.sha256(model.encode()).hexdigest()[:16]}.f16" if self.rows_dir else None
            index = self.indexes[model] = ExemplarIndex(dim, **self._index_args, pq_bytes=self.pq_bytes,
                                                        rows_path=rows)
        elif index.dim != dim:
            raise ValueError(f"model {model!r} has {index.dim}-d embeddings, got {dim}-d")
        return index

    def index_size(self) -> int:
        return sum(len(ix) for ix in self.indexes.values())

    def _new_vid(self) -> int:
        self._next_vid += 1
        if self._next_vid >= len(self._mod_of):
            grow = 2 * len(self._mod_of)
            self._mod_of = np.concatenate([self._mod_of, np.full(grow - len(self._mod_of), -1, np.int8)])
            self._in_batch = np.concatenate([self._in_batch, np.zeros(grow - len(self._in_batch), bool)])
        return self._next_vid

    def _own(self, vid: int, iid: str, modality: str) -> None:
        self._owner[vid] = (iid, modality)
        self._mod_of[vid] = MODALITY_CODE[modality]

    def load(self, identities: list[Identity], vectors: list[dict[tuple[str, int], tuple[np.ndarray, int]]]) -> None:
        """Bulk-load identities read from Redis: vectors[i] maps (modality, slot) -> (vector, merged)."""
        per_model: dict[str, tuple[list[int], list[np.ndarray]]] = {}
        for ident, vecs in zip(identities, vectors):
            ident.slots = {}
            for (modality, slot), (vec, merged) in sorted(vecs.items()):
                vid = self._new_vid()
                ident.slots.setdefault(modality, []).append([vid, merged])
                self._own(vid, ident.iid, modality)
                ids, rows = per_model.setdefault(ident.model, ([], []))
                ids.append(vid)
                rows.append(vec)
            self.identities[ident.iid] = ident
        for model, (ids, rows) in per_model.items():
            index = self.index_for(model, rows[0].shape[0])
            total = len(index) + len(ids)
            index.reserve(total, max_id=max(ids))
            if not index.approximate and total >= index.exact_below:
                take = np.sort(np.random.default_rng(0).choice(len(rows), size=min(len(rows), 50_000), replace=False))
                index.build_approximate(np.stack([rows[i] for i in take]).astype(np.float32), total=total)
            for at in range(0, len(ids), 50_000):  # in chunks: a large gallery is several GiB as float32
                index.add(np.array(ids[at: at + 50_000]), np.stack(rows[at: at + 50_000]).astype(np.float32))

    def drop(self, iid: str) -> bool:
        ident = self.identities.pop(iid, None)
        if ident is None:
            return False
        vids = [vid for slots in ident.slots.values() for vid, _ in slots]
        self.indexes[ident.model].remove(vids)
        for vid in vids:
            self._owner.pop(vid, None)
            self._mod_of[vid] = -1
        return True

    # ------------------------------------------------------------ resolution
    def resolve(self, batch: list[Observation], now: float) -> list[Decision]:
        """Decide each observation in order; later ones see the identities the earlier ones created."""
        found: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for model in {o.model for o in batch}:
            rows = [i for i, o in enumerate(batch) if o.model == model]
            index = self.index_for(model, batch[rows[0]].vector.shape[0])
            scores, ids = index.search(np.stack([batch[i].vector for i in rows]), self.candidates)
            found.update((i, (scores[k], ids[k])) for k, i in enumerate(rows))
        # vectors added or changed in this batch, per model (each observation writes at most one)
        touched = {m: _Touched(len(batch), self.indexes[m].dim) for m in {o.model for o in batch}}
        try:
            return [self._decide(o, *found[i], touched[o.model], now) for i, o in enumerate(batch)]
        finally:
            for t in touched.values():
                self._in_batch[t.vids] = False

    def _decide(self, obs: Observation, scores: np.ndarray, ids: np.ndarray, touched: "_Touched",
                now: float) -> Decision:
        """The best identity whose exemplar clears the threshold of its modality pair by the widest margin (and
        passes the transit rule), else a new identity. Vectorised over the candidates: only those that clear
        their threshold reach Python."""
        index = self.indexes[obs.model]
        if len(ids) and ids[-1] < 0:  # fewer neighbours than asked for: the search pads its end with -1
            ok = ids >= 0
            ids, scores = ids[ok], scores[ok]
        if touched.row:  # the batch's own writes replace what the (earlier) search saw of them
            t_ids, t_scores = touched.scores(obs.vector)
            keep = ~self._in_batch[ids]
            ids, scores = np.concatenate([ids[keep], t_ids]), np.concatenate([scores[keep], t_scores])
        mods = self._mod_of[ids]
        known = mods >= 0  # a vector without an exemplar behind it (none today) never decides
        pair_thresholds = self._pair_thresholds(obs.model)[MODALITY_CODE[obs.modality]]  # by the other's modality
        margins = np.where(known, scores - pair_thresholds[np.maximum(mods, 0)], -np.inf)
        nearest = (0.0, None)
        if known.any():
            top = int(np.argmax(np.where(known, scores, -np.inf)))
            if scores[top] > 0:
                nearest = (float(scores[top]), pair_key(obs.modality, MODALITIES[mods[top]]))
        clear = np.flatnonzero(margins >= 0)
        tried: set[str] = set()
        for k in clear[np.argsort(-margins[clear], kind="stable")].tolist():  # widest margin first
            iid = self._owner[int(ids[k])][0]
            if iid in tried:  # an identity is tried once, at its widest margin
                continue
            tried.add(iid)
            ident = self.identities[iid]
            if self._transit_ok(ident, obs):
                exemplar = self._update(ident, obs, index, touched, now)
                return Decision(iid, "matched", float(scores[k]), pair_key(obs.modality, MODALITIES[mods[k]]),
                                exemplar)
        ident = Identity(iid=uuid.uuid4().hex[:16], model=obs.model, created=now, last_seen=now)
        self.identities[ident.iid] = ident
        exemplar = self._update(ident, obs, index, touched, now)
        return Decision(ident.iid, "new", nearest[0], nearest[1], exemplar)

    def _pair_thresholds(self, model: str) -> np.ndarray:
        """(2, 2) thresholds: [modality code of the observation, modality code of the exemplar]."""
        table = self._threshold_tables.get(model)
        if table is None:
            thresholds = self.per_model.get(model, self.thresholds)
            table = self._threshold_tables[model] = np.array(
                [[thresholds[pair_key(a, b)] for b in MODALITIES] for a in MODALITIES], np.float32)
        return table

    def _transit_ok(self, ident: Identity, obs: Observation) -> bool:
        """An identity cannot be at two cameras closer in time than min_transit_s."""
        if self.min_transit_s is None:
            return True
        for camera, (start, end) in ident.cams.items():
            if camera != obs.camera and max(obs.start - end, start - obs.end) < self.min_transit_s:
                return False
        return True

    def _update(self, ident: Identity, obs: Observation, index: ExemplarIndex, touched: "_Touched",
                now: float) -> tuple[str, int, np.ndarray, int]:
        """Record the sighting; add the embedding as a new exemplar, or merge it into the nearest one."""
        ident.last_seen = now
        ident.sightings += 1
        prev = ident.cams.get(obs.camera)
        if prev is None or obs.end >= prev[1]:
            ident.cams[obs.camera] = (obs.start, obs.end)
        slots = ident.slots.setdefault(obs.modality, [])
        sims = index.scores([vid for vid, _ in slots], obs.vector).tolist() if slots else []
        if not slots or (len(slots) < self.exemplars and max(sims) < self.novelty):
            vid = self._new_vid()
            slots.append([vid, 1])
            self._own(vid, ident.iid, obs.modality)
            index.add(np.array([vid]), obs.vector[None])
            touched.put(vid, obs.vector)
            self._in_batch[vid] = True
            return obs.modality, len(slots) - 1, obs.vector, 1
        slot = int(np.argmax(sims))
        vid, merged = slots[slot]
        vec = index.vector(vid) * merged + obs.vector
        vec = (vec / max(float(np.linalg.norm(vec)), 1e-12)).astype(np.float32)
        slots[slot][1] = min(merged + 1, MAX_MERGED)
        index.replace(vid, vec)
        touched.put(vid, vec)
        self._in_batch[vid] = True
        return obs.modality, slot, vec, slots[slot][1]


class _Touched:
    """Vectors written during one batch, scored directly (the batch's index search predates them)."""

    def __init__(self, capacity: int, dim: int):
        self.mat = np.zeros((capacity, dim), np.float32)
        self.ids = np.zeros(capacity, np.int64)
        self.row: dict[int, int] = {}  # vector id -> its row of mat and ids

    @property
    def vids(self) -> np.ndarray:
        return self.ids[: len(self.row)]

    def put(self, vid: int, vec: np.ndarray) -> None:
        row = self.row.get(vid)
        if row is None:
            row = self.row[vid] = len(self.row)
            self.ids[row] = vid
        self.mat[row] = vec

    def scores(self, vec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.vids, self.mat[: len(self.row)] @ vec
