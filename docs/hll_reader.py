#!/usr/bin/env python3
"""Standalone reader of dagctl's HyperLogLog sketches (the `hll` column of rollup views).

Python standard library only. Format and estimator: docs/serving.md ("The sketch format").

    python3 docs/hll_reader.py SKETCH...              # base64 sketches (or @FILE: raw bytes)
    dagctl query VIEW --where url=U --from A --to B --json --sketches | python3 docs/hll_reader.py -

Merges the sketches (register-wise max) and prints JSON: {"count", "estimate", "p", "mode", "sketches"}.
With `-`, reads a `dagctl query --json --sketches` answer from stdin and merges its buckets' sketches.
"""
import base64
import json
import math
import struct
import sys

SPARSE_P = 25  # sparse entries index 2^25 virtual registers (HLL++'s p')


class Sketch:
    """p, and either sparse {idx25: rank25} or dense registers (bytearray of 2^p)."""

    def __init__(self, p, sparse=None, dense=None):
        self.p = p
        self.m = 1 << p
        self.sparse = sparse if dense is None else None
        self.dense = dense
        if self.sparse is None and self.dense is None:
            self.sparse = {}

    @staticmethod
    def parse(b):
        if len(b) < 4 or b[0] != 0x48 or b[1] != 1:
            raise ValueError("not a dagctl HLL sketch (header 'H' 1 expected)")
        p, mode = b[2], b[3]
        if not 4 <= p <= 16:
            raise ValueError("precision %d not in 4..16" % p)
        if mode == 0:
            (n,) = struct.unpack_from("<I", b, 4)
            if len(b) != 8 + 5 * n:
                raise ValueError("sparse length")
            s = Sketch(p)
            for k in range(n):
                idx, rank = struct.unpack_from("<IB", b, 8 + 5 * k)
                if idx >= 1 << SPARSE_P or not 1 <= rank <= 40:
                    raise ValueError("sparse register")
                s.add_sparse(idx, rank)
            return s
        if mode == 1:
            if len(b) != 4 + (1 << p):
                raise ValueError("dense length")
            return Sketch(p, dense=bytearray(b[4:]))
        raise ValueError("mode %d" % mode)

    def dense_of(self, idx25, rank25):
        """The dense register and rank of a sparse entry: the same as hashing at precision p."""
        extra = SPARSE_P - self.p
        low = idx25 & ((1 << extra) - 1)
        if low != 0:
            rank = extra - low.bit_length() + 1  # leading zeros of `low` within `extra` bits, + 1
        else:
            rank = extra + rank25
        return idx25 >> extra, rank

    def to_dense(self):
        if self.dense is None:
            d = bytearray(self.m)
            for i25, r25 in self.sparse.items():
                i, r = self.dense_of(i25, r25)
                if d[i] < r:
                    d[i] = r
            self.dense, self.sparse = d, None
        return self.dense

    def add_sparse(self, idx25, rank25):
        if self.dense is not None:
            i, r = self.dense_of(idx25, rank25)
            if self.dense[i] < r:
                self.dense[i] = r
            return
        if self.sparse.get(idx25, 0) < rank25:
            self.sparse[idx25] = rank25
            # dagctl turns a sketch dense once it holds more than m/32 sparse entries
            if len(self.sparse) > self.m >> 5:
                self.to_dense()

    def merge(self, other):
        if other.p != self.p:
            raise ValueError("cannot merge p=%d into p=%d" % (other.p, self.p))
        if other.dense is not None:
            d = self.to_dense()
            for i, r in enumerate(other.dense):
                if r > d[i]:
                    d[i] = r
        else:
            for i25, r25 in other.sparse.items():
                self.add_sparse(i25, r25)
        return self

    def estimate(self):
        if self.sparse is not None:
            big_m = float(1 << SPARSE_P)
            return big_m * math.log(big_m / (big_m - len(self.sparse)))
        m, q = self.m, 64 - self.p
        c = [0] * (q + 2)
        for r in self.dense:
            c[r] += 1
        z = m * _tau(1 - c[q + 1] / m)
        for k in range(q, 0, -1):
            z = 0.5 * (z + c[k])
        z += m * _sigma(c[0] / m)
        return (m * m) / (2 * math.log(2) * z)


def _sigma(x):
    if x == 1:
        return math.inf
    y, z = 1.0, x
    while True:
        x *= x
        prev = z
        z += x * y
        y += y
        if z == prev:
            return z


def _tau(x):
    if x == 0 or x == 1:
        return 0.0
    y, z = 1.0, 1 - x
    while True:
        x = math.sqrt(x)
        prev = z
        y *= 0.5
        z -= (1 - x) * (1 - x) * y
        if z == prev:
            return z / 3


def js_round(x):
    """JavaScript's Math.round (halves towards +infinity), which dagctl's counts use."""
    return int(math.floor(x + 0.5))


def merge_all(blobs):
    merged = None
    for b in blobs:
        s = Sketch.parse(b)
        merged = s if merged is None else merged.merge(s)
    return merged


def main(argv):
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if argv else 2
    blobs = []
    if argv == ["-"]:
        answer = json.load(sys.stdin)
        blobs = [base64.b64decode(b["sketch"]) for b in answer.get("buckets", []) if b.get("sketch")]
    else:
        for a in argv:
            if a.startswith("@"):
                with open(a[1:], "rb") as f:
                    blobs.append(f.read())
            else:
                blobs.append(base64.b64decode(a))
    merged = merge_all(blobs)
    if merged is None:
        out = {"count": 0, "estimate": 0.0, "p": None, "mode": None, "sketches": 0}
    else:
        est = merged.estimate()
        out = {"count": js_round(est), "estimate": est, "p": merged.p, "mode": "sparse" if merged.sparse is not None else "dense", "sketches": len(blobs)}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except (ValueError, OSError, KeyError) as e:
        print("hll_reader: %s" % e, file=sys.stderr)
        sys.exit(2)
