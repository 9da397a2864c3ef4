"""Duplicate candidates over HTTP: blocking keys, reasons, ranking, paging, junk keys, and what is excluded."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import httpx

from tests.support import assert_problem

FAMILIES = ["Ashby", "Brandt", "Castell", "Dumont", "Eriksen", "Fairley", "Gaskell", "Holloway", "Ingram", "Jourdain"]
GIVENS = ["Aurelia", "Bastian", "Cosima", "Dorian", "Elodie", "Fabian", "Greta", "Hector", "Isolde", "Jasper"]
CITIES = ["Shanghai", "Beijing", "Shenzhen", "Hangzhou"]


def _upsert(api: httpx.Client, records: list[dict[str, Any]]) -> dict[str, str]:
    """external_id -> customer id of a batch that must be written whole."""
    response = api.post("/v1/customers:batchUpsert", json={"records": records})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert all(r["status"] == "created" for r in results), [r for r in results if r["status"] == "error"]
    return {r["external_id"]: r["id"] for r in results}


def _background(count: int, seed: int, prefix: str) -> list[dict[str, Any]]:
    """Clearly different people: distinct names, emails, phones and birth dates."""
    rng = random.Random(seed)
    names = rng.sample([(f, g) for f in FAMILIES for g in GIVENS], count)
    people = []
    for i, (family, given) in enumerate(names):
        people.append(
            {
                "source": "crm",
                "external_id": f"{prefix}{i}",
                "family_name": family,
                "given_name": given,
                "email": f"{given}.{family}.{prefix}{i}@example.org",
                "phone": f"+86 137 {i:04d} {rng.randrange(10**4):04d}",
                "birth_date": str(date(1950, 1, 1) + timedelta(days=rng.randrange(20_000))),
                "city": rng.choice(CITIES),
                "gender": rng.choice(["female", "male"]),
            }
        )
    return people


def _planted() -> list[dict[str, Any]]:
    def person(external_id: str, **fields: Any) -> dict[str, Any]:
        return {"source": "shop", "external_id": external_id, **fields}

    return [
        # Same email, spelled in another case: the stored address is normalised, so one key.
        person("a1", given_name="Ada", family_name="Lovelace", email="Ada.Lovelace@Example.com", gender="female"),
        person("a2", given_name="A.", family_name="King", email="ADA.LOVELACE@example.COM"),
        # Same phone in two formats.
        person("b1", given_name="Blaise", family_name="Pascal", phone="139 0011 2233", email="bp@one.example"),
        person("b2", given_name="B.", family_name="P.", phone="+86 139-0011-2233", email="bp@two.example"),
        # Same name, birth date and city, different email.
        person("c1", given_name="Grace", family_name="Hopper", birth_date="1906-12-09", city="Hangzhou", email="g@h.io"),
        person("c2", given_name="grace", family_name="hopper", birth_date="1906-12-09", city="hangzhou", email="x@y.io"),
        # Everything shared: the strongest pair.
        person(
            "d1", given_name="Alan", family_name="Turing", email="alan@turing.example", phone="13912340001",
            birth_date="1912-06-23", city="Beijing",
        ),
        person(
            "d2", given_name="Alan", family_name="Turing", email="Alan@Turing.example", phone="+86 139 1234 0001",
            birth_date="1912-06-23", city="Beijing",
        ),
        # A family sharing one phone: different birth dates and genders outweigh it.
        person("e1", given_name="Marie", family_name="Curie", phone="13955550000", birth_date="1967-11-07", gender="F"),
        person("e2", given_name="Pierre", family_name="Curie", phone="13955550000", birth_date="1959-05-15", gender="M"),
        # A shared landline, different birth dates: 0.1, listed only when asked for every candidate.
        person("g1", given_name="Ola", family_name="Nordmann", phone="13966667777", birth_date="1970-01-01"),
        person("g2", given_name="Kari", family_name="Nordmann", phone="13966667777", birth_date="1972-02-02"),
        # Namesakes in one city with different birth dates.
        person("f1", given_name="Wei", family_name="Wang", city="Shenzhen", birth_date="1990-01-01"),
        person("f2", given_name="Wei", family_name="Wang", city="Shenzhen", birth_date="1975-07-30"),
    ]  # fmt: skip


def _junk(count: int) -> list[dict[str, Any]]:
    return [
        {"source": "junk", "external_id": str(i), "email": "test@test.com", "given_name": f"Tester{i}"}
        for i in range(count)
    ]


def _world(api: httpx.Client) -> dict[str, str]:
    return _upsert(api, _background(60, seed=7, prefix="bg") + _planted() + _junk(51))


def _pairs(api: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    response = api.get("/v1/duplicates", params={"limit": 1000, **params})
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def test_planted_duplicates_are_found_with_their_reasons_and_ranked(api: httpx.Client) -> None:
    ids = _world(api)
    found = [(set(p["customer_ids"]), p["score"], p["reasons"]) for p in _pairs(api)]
    assert found == [
        (
            {ids["d1"], ids["d2"]},
            1.0,
            ["same email", "same phone", "same name and birth date", "same name and city"],
        ),
        ({ids["c1"], ids["c2"]}, 0.8, ["same name and birth date", "same name and city"]),
        ({ids["a1"], ids["a2"]}, 0.6, ["same email"]),
        ({ids["b1"], ids["b2"]}, 0.5, ["same phone"]),
    ]


def test_junk_keys_are_skipped_and_reported(api: httpx.Client) -> None:
    ids = _world(api)
    page = api.get("/v1/duplicates").json()
    assert page["skipped_keys"] == [{"key": "email", "value": ["test@test.com"], "customers": 51}]
    assert not any(ids["0"] in p["customer_ids"] for p in page["items"])
    mine = api.get(f"/v1/customers/{ids['0']}/duplicates").json()
    assert mine["items"] == []
    assert mine["skipped_keys"] == [{"key": "email", "value": ["test@test.com"], "customers": 51}]


def test_pages_cover_every_pair_once_in_rank_order(api: httpx.Client) -> None:
    _world(api)
    everything = _pairs(api)
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = api.get("/v1/duplicates", params={"limit": 1, **({"cursor": cursor} if cursor else {})}).json()
        assert (page["skipped_keys"] is None) == (cursor is not None)  # junk is reported on the first page only
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == everything
    assert len({tuple(sorted(p["customer_ids"])) for p in seen}) == len(seen) == 4
    assert [p["score"] for p in _pairs(api, min_score=0.55)] == [1.0, 0.8, 0.6]
    weakest = _pairs(api, min_score=0)[-1]
    assert (weakest["score"], weakest["reasons"]) == (0.1, ["same phone", "different birth date"])
    assert len(_pairs(api, min_score=0)) == 5
    assert_problem(api.get("/v1/duplicates", params={"cursor": "nonsense"}), 422)
    assert_problem(api.get("/v1/duplicates", params={"min_score": 2}), 422)


def test_customer_duplicates_agree_with_the_whole_base_listing(api: httpx.Client) -> None:
    ids = _world(api)
    for pair in _pairs(api):
        first, second = pair["customer_ids"]
        for me, other in ((first, second), (second, first)):
            mine = api.get(f"/v1/customers/{me}/duplicates").json()
            assert [(c["customer_id"], c["score"], c["reasons"]) for c in mine["items"]] == [
                (other, pair["score"], pair["reasons"])
            ]
            assert mine["items"][0]["customer"]["id"] == other
    assert api.get(f"/v1/customers/{ids['e1']}/duplicates", params={"min_score": 0}).json()["items"] == []
    assert api.get(f"/v1/customers/{ids['g1']}/duplicates").json()["items"] == []
    everything = api.get(f"/v1/customers/{ids['g1']}/duplicates", params={"min_score": 0}).json()["items"]
    assert [(c["customer_id"], c["score"]) for c in everything] == [(ids["g2"], 0.1)]
    assert api.get(f"/v1/customers/{ids['bg3']}/duplicates").json()["items"] == []


def test_merged_and_erased_customers_are_never_proposed(api: httpx.Client) -> None:
    ids = _world(api)
    merged = api.post(f"/v1/customers/{ids['c1']}:merge", json={"from": [ids["c2"]]})
    assert merged.status_code == 200, merged.text
    assert api.delete(f"/v1/customers/{ids['a2']}").status_code == 204
    remaining = [set(p["customer_ids"]) for p in _pairs(api)]
    assert remaining == [{ids["d1"], ids["d2"]}, {ids["b1"], ids["b2"]}]
    followed = api.get(f"/v1/customers/{ids['c2']}/duplicates")
    assert followed.status_code == 200
    assert followed.json()["customer_id"] == ids["c1"]
    assert ids["c1"] in followed.headers["link"]
    assert_problem(api.get(f"/v1/customers/{ids['a2']}/duplicates"), 410)


def _live_pairs(api: httpx.Client, customer_ids: list[str]) -> list[tuple[frozenset[str], float, list[str]]]:
    """Every candidate pair computed live, from each customer's own lookup (indexed, no stored table)."""
    found: dict[frozenset[str], tuple[float, list[str]]] = {}
    for me in customer_ids:
        response = api.get(f"/v1/customers/{me}/duplicates", params={"min_score": 0})
        if response.status_code != 200 or response.json()["customer_id"] != me:
            continue  # erased (410) or merged away (answered for the survivor)
        for c in response.json()["items"]:
            found[frozenset((me, c["customer_id"]))] = (c["score"], c["reasons"])
    return sorted(((k, *v) for k, v in found.items()), key=lambda p: (-p[1], sorted(p[0])))


def _listed(api: httpx.Client) -> list[tuple[frozenset[str], float, list[str]]]:
    pairs = _pairs(api, min_score=0)
    return sorted(
        ((frozenset(p["customer_ids"]), p["score"], p["reasons"]) for p in pairs), key=lambda p: (-p[1], sorted(p[0]))
    )


def _patch(api: httpx.Client, customer_id: str, **fields: Any) -> None:
    current = api.get(f"/v1/customers/{customer_id}")
    response = api.patch(f"/v1/customers/{customer_id}", json=fields, headers={"If-Match": current.headers["etag"]})
    assert response.status_code == 200, response.text


def test_listing_equals_the_live_computation_after_every_kind_of_write(api: httpx.Client) -> None:
    ids = _world(api)
    everyone = list(ids.values())
    assert _listed(api) == _live_pairs(api, everyone)
    # Creates: one joins Alan Turing's email, a whole bounded phone group appears.
    ids |= _upsert(
        api,
        [
            {"source": "late", "external_id": "t3", "email": "ALAN@turing.example", "birth_date": "1912-06-24"},
            *[{"source": "late", "external_id": f"p{i}", "phone": "13800000000"} for i in range(20)],
        ],
    )
    everyone = list(ids.values())
    assert _listed(api) == _live_pairs(api, everyone)
    assert sum(1 for p in _listed(api) if p[2] == ["same phone"]) >= 190  # 20 share it: 20 * 19 / 2 pairs
    # One more makes the phone junk: its 190 pairs go, and it is reported.
    ids |= _upsert(api, [{"source": "late", "external_id": "p20", "phone": "13800000000"}])
    page = api.get("/v1/duplicates").json()
    assert {"key": "phone", "value": ["+8613800000000"], "customers": 21} in page["skipped_keys"]
    assert _listed(api) == _live_pairs(api, list(ids.values()))
    # Updates: one leaves the junk group (back to 20, the pairs return), one takes Grace Hopper's name.
    _patch(api, ids["p20"], phone="13800000001")
    _patch(api, ids["bg0"], given_name="Grace", family_name="Hopper", city="Hangzhou", birth_date="1906-12-09")
    _patch(api, ids["a1"], email="someone.else@example.com")
    page = api.get("/v1/duplicates").json()
    assert not any(k["key"] == "phone" for k in page["skipped_keys"])
    assert _listed(api) == _live_pairs(api, list(ids.values()))
    # Merges and erasures: the merged-away and the erased never appear again.
    assert api.post(f"/v1/customers/{ids['c1']}:merge", json={"from": [ids["c2"], ids["bg0"]]}).status_code == 200
    assert api.delete(f"/v1/customers/{ids['p0']}").status_code == 204
    listed = _listed(api)
    assert listed == _live_pairs(api, list(ids.values()))
    gone = {ids["c2"], ids["bg0"], ids["p0"]}
    assert not any(pair & gone for pair, _, _ in listed)
    # A whole refresh stores exactly what the incremental ones kept.
    refreshed = api.post("/v1/duplicates:refresh")
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["mode"] == "all"
    assert _listed(api) == listed


def test_listing_answers_with_its_freshness(api: httpx.Client) -> None:
    _world(api)
    first = api.get("/v1/duplicates").json()
    assert (first["stale"], first["pending_changes"]) == (False, 0)
    assert first["computed_at"]
    again = api.get("/v1/duplicates").json()
    assert again["computed_at"] == first["computed_at"]  # nothing changed, nothing recomputed
    _upsert(api, [{"source": "late", "external_id": "x", "email": "bp@one.example"}])
    later = api.get("/v1/duplicates").json()
    assert later["computed_at"] > first["computed_at"]


def test_pages_stay_stable_while_pairs_change_elsewhere(api: httpx.Client) -> None:
    ids = _world(api)
    first = api.get("/v1/duplicates", params={"limit": 2}).json()
    # A new pair ranked above the cursor, and the merge of one pair below it.
    _upsert(api, [{"source": "late", "external_id": "d3", "email": "alan@turing.example", "phone": "13912340001"}])
    assert api.post(f"/v1/customers/{ids['b1']}:merge", json={"from": [ids["b2"]]}).status_code == 200
    rest = api.get("/v1/duplicates", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    seen = [tuple(p["customer_ids"]) for p in first["items"] + rest["items"]]
    assert len(set(seen)) == len(seen)
    assert [tuple(p["customer_ids"]) for p in first["items"]] == seen[:2]
    assert [p["score"] for p in rest["items"]] == [0.6]  # the merged pair is gone, nothing repeated
