#!/usr/bin/env python3
"""Generates flag-buckets.json: reference buckets from the Python system Strata replaces.

bucket = int(sha256("<tenant_id>:<flag_key>").hexdigest()[:8], 16) % 100

Deterministic (seeded), so re-running it reproduces the committed file byte for byte:
    python3 packages/core/test-vectors/generate_buckets.py
"""
import hashlib
import json
import random
from pathlib import Path

FLAGS = [
    "new_checkout",
    "dark_mode",
    "search.v2",
    "pricing.experiment_2024",
    "ünïcödé-flag 🚀",
    "f" * 70,  # pushes "<tenant>:<flag>" across the 55/64-byte padding boundaries
]


def bucket(tenant_id: str, flag_key: str) -> int:
    return int(hashlib.sha256(f"{tenant_id}:{flag_key}".encode("utf-8")).hexdigest()[:8], 16) % 100


def tenant_ids(rng: random.Random) -> list[str]:
    odd = [
        "", " ", ":", "::", "a:b:c", "tenant", "constructor", "__proto__", "toString",
        "0", "-1", "1e3", "NaN", "null", "true", "tenant\u0000nul", "tab\there", "new\nline",
        "quote\"s", "back\\slash", "ünïcode", "日本語テナント", "😀", "👩‍👩‍👧‍👦 family", "e\u0301 combining",
        "\u00e9 precomposed", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "Ω", "\ufeffbom", "\uffff", "\U0010ffff",
        "x" * 55, "x" * 56, "x" * 63, "x" * 64, "x" * 119, "x" * 120, "x" * 1000,
        "ACME-Corp", "acme-corp", "tenant_001", "shelfwise:tenant:42", "a.b.c", "UPPER", "MiXeD",
    ]
    ids = list(odd)
    ids += [f"tenant_{i:03d}" for i in range(1, 201)]  # the ShelfWise demo's 200 tenants
    ids += [f"tenant-{i}" for i in range(2000)]
    alphabets = [
        "abcdefghijklmnopqrstuvwxyz0123456789",
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-",
        "äöüßéèêñçøåæœ日本語中文한국어😀🚀✓€",
    ]
    seen = set(ids)
    while len(ids) < 10_500:
        alphabet = rng.choice(alphabets)
        candidate = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40)))
        if candidate not in seen:
            seen.add(candidate)
            ids.append(candidate)
    return ids


def main() -> None:
    rng = random.Random(20240607)
    tenants = tenant_ids(rng)
    sample = ["", "abc", "a" * 55, "a" * 56, "a" * 63, "a" * 64, "a" * 65, "b" * 119, "b" * 128, "日本語😀" * 40]
    out = {
        "formula": 'int(sha256("<tenant_id>:<flag_key>").hexdigest()[:8], 16) % 100',
        "flags": FLAGS,
        "cases": [[t, [bucket(t, f) for f in FLAGS]] for t in tenants],
        "digests": [[s, hashlib.sha256(s.encode("utf-8")).hexdigest()] for s in sample],
    }
    path = Path(__file__).with_name("flag-buckets.json")
    path.write_text(json.dumps(out, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {len(tenants)} tenants x {len(FLAGS)} flags = {len(tenants) * len(FLAGS)} buckets to {path}")


if __name__ == "__main__":
    main()
