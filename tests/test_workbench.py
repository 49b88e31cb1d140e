"""The data scientist's workbench: file loaders, splits, `solace evaluate`/`tune`/`train` on
files, the HTML report and the cold-item path. MovieLens tests read SOLACE_SHARED (default
/work/shared) and skip, saying why, when the data is not there."""

from __future__ import annotations

import csv
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from training.data_io import load_files
from training.readers import LoadError, read_features, read_interactions, read_item_text
from training.evaluate import evaluate_model
from training.splits import cold_item_split
from training.configs import CONFIGS, build_model, resolve_configs
from training.models.new_items import NewItemsFromFeatures
from training.recipes import config_data
from training.workbench import make_split

SHARED = Path(os.environ.get("SOLACE_SHARED", "/work/shared"))
ML_DIR = SHARED / "data" / "ml-100k"


def _write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _group_data(tmp_path: Path, seed: int = 0, n_users: int = 80, n_items: int = 40, groups: int = 4) -> dict[str, Path]:
    """Users of group g engage with items of group g (plus a little noise); item features
    name the group, user features too, so features carry real signal for cold items."""
    rng = np.random.default_rng(seed)
    per = n_items // groups
    rows = []
    t0 = 1_700_000_000
    for u in range(n_users):
        g = u % groups
        own = rng.choice(np.arange(g * per, (g + 1) * per), size=6, replace=False)
        noise = rng.choice(n_items, size=1)
        for n, i in enumerate(list(own) + list(noise)):
            rows.append([f"u{u}", f"i{i}", 1, t0 + 3600 * n + u])
    inter = _write_csv(tmp_path / "interactions.csv", ["user_id", "item_id", "weight", "timestamp"], rows)
    ifeat = _write_csv(tmp_path / "item_features.csv", ["item_id", "feature", "weight"],
                       [[f"i{i}", f"group:{i // per}", 1] for i in range(n_items)])
    ufeat = _write_csv(tmp_path / "user_features.csv", ["user_id", "feature"],
                       [[f"u{u}", f"likes:{u % groups}"] for u in range(n_users)])
    return {"interactions": inter, "item_features": ifeat, "user_features": ufeat}


# ----------------------------------------------------------------------------- loaders
def test_csv_and_parquet_give_the_same_dataset_with_iso_and_unix_times(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [["a", "x", "2", "2024-01-01T00:00:00Z"], ["a", "y", "1", "1704153600"],
            ["b", "x", "", "2024-01-03T00:00:00+00:00"], ["a", "x", "1", "2024-01-04"]]
    csv_path = _write_csv(tmp_path / "i.csv", ["user_id", "item_id", "weight", "timestamp"], rows)
    pq_path = tmp_path / "i.parquet"
    pq.write_table(pa.table({c: [r[n] for r in rows] for n, c in enumerate(["user_id", "item_id", "weight", "timestamp"])}), pq_path)
    a, b = load_files(csv_path), load_files(pq_path)
    for wb in (a, b):
        assert wb.data.user_ids == ["a", "b"] and wb.data.item_ids == ["x", "y"]
        dense = wb.data.interactions.toarray()
        assert dense.tolist() == [[3.0, 1.0], [1.0, 0.0]]  # repeated rows add up; empty weight is 1
        ts = wb.timestamps.toarray()
        assert ts[0, 1] == 1704153600.0  # Unix seconds as given
        assert ts[0, 0] == 1704326400.0  # the pair's latest time (2024-01-04, naive = UTC)
    assert (a.data.interactions != b.data.interactions).nnz == 0


def test_bad_rows_are_all_reported_with_file_line_reason_and_nothing_loads(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "user_id,item_id,weight,timestamp\n"
        "u1,i1,1,2024-01-01\n"
        ",i2,1,2024-01-01\n"          # line 3: empty user
        "u2,i2,lots,2024-01-01\n"     # line 4: weight
        "u3,i3,1,yesterday\n"         # line 5: timestamp
        "u4,i4,1\n"                   # line 6: field count
        "u5,i5,nan,2024-01-01\n",     # line 7: not finite
        encoding="utf-8",
    )
    with pytest.raises(LoadError) as info:
        load_files(path)
    got = [(p.file, p.line) for p in info.value.problems]
    assert got == [("bad.csv", 3), ("bad.csv", 4), ("bad.csv", 5), ("bad.csv", 6), ("bad.csv", 7)]
    reasons = " | ".join(p.reason for p in info.value.problems)
    assert "empty user_id" in reasons and "'lots' is not a number" in reasons and "yesterday" in reasons
    assert "3 fields, the header has 4" in reasons and "not finite" in reasons
    assert str(info.value).startswith("5 problems, nothing loaded: bad.csv:3: empty user_id")


def test_contact_details_as_user_ids_and_a_repeated_header_are_refused(tmp_path: Path) -> None:
    """User ids are pseudonyms: an email or phone number never reaches a model version.
    Dataset row numbers stay valid ids."""
    path = tmp_path / "ids.csv"
    path.write_text("user_id,item_id\n"
                    "12345678,i1\n"              # a plain integer id: fine
                    "ana@example.org,i1\n"       # line 3: email
                    "+44 7700 900123,i2\n"       # line 4: phone number
                    "user_id,item_id\n"          # line 5: a second header
                    "u-7f3a,i2\n", encoding="utf-8")
    with pytest.raises(LoadError) as info:
        load_files(path)
    got = [(p.line, p.reason.split(":")[0]) for p in info.value.problems]
    assert got == [(3, "user_id looks like an email address"), (4, "user_id looks like a phone number"),
                   (5, "the header row again (files concatenated?)")]
    users = _write_csv(tmp_path / "users.csv", ["user_id", "feature"], [["u1", "age:18-24"], ["bo@x.io", "age:25-34"]])
    with pytest.raises(LoadError) as info:
        read_features(users, "user_id")
    assert [(p.line, p.reason.split(":")[0]) for p in info.value.problems] == [(3, "user_id looks like an email address")]
    items = _write_csv(tmp_path / "items.csv", ["item_id", "feature"], [["bo@x.io", "topic:sleep"]])
    assert read_features(items, "item_id")["bo@x.io"] == [("topic:sleep", 1.0)]  # item ids are not people


def test_a_file_that_is_not_utf8_names_the_line_of_the_bad_byte(tmp_path: Path) -> None:
    small = tmp_path / "latin.csv"
    small.write_bytes("user_id,item_id\nu1,i1\nu2,café\nu3,i3\n".encode("latin-1"))
    with pytest.raises(LoadError) as info:
        load_files(small)
    assert [(p.line, p.reason.split(" (")[0]) for p in info.value.problems] == [(3, "not UTF-8")]
    big = tmp_path / "big.csv"  # the bad byte well past the reader's first block
    rows = "".join(f"u{n},i{n % 50}\n" for n in range(20_000))
    big.write_bytes(("user_id,item_id\n" + rows + "u9,naïve\n").encode("latin-1"))
    with pytest.raises(LoadError) as info:
        load_files(big)
    assert [p.line for p in info.value.problems] == [20_002]


def test_a_split_with_nothing_to_hold_out_is_an_error_not_a_table_of_zeros(tmp_path: Path) -> None:
    one_each = _write_csv(tmp_path / "one.csv", ["user_id", "item_id", "timestamp"],
                          [[f"u{u}", f"i{u % 5}", 1_700_000_000 + u] for u in range(20)])
    for split in ("random", "time"):
        result = _run(["evaluate", "--interactions", str(one_each), "--split", split, "--compare", "popularity"],
                      tmp_path / "home")
        assert result.exit_code == 2, result.output
        assert f"the {split} split has no test interactions: no user has enough interactions" in result.stderr
    result = _run(["train", "--algorithm", "popularity", "--interactions", str(one_each)], tmp_path / "home")
    assert result.exit_code == 0, result.output
    assert "no holdout metrics" in result.stdout and "nan" not in result.stdout


def test_a_bad_side_file_fails_the_whole_load(tmp_path: Path) -> None:
    files = _group_data(tmp_path)
    _write_csv(tmp_path / "bad_features.csv", ["item_id", "feature", "weight"], [["i1", "g", "1"], ["i2", "", "1"], ["i3", "g", "-2"]])
    with pytest.raises(LoadError) as info:
        load_files(files["interactions"], item_features=tmp_path / "bad_features.csv")
    assert [(p.line, p.reason) for p in info.value.problems] == [(3, "empty feature"), (4, "negative feature weight -2.0")]
    with pytest.raises(LoadError, match="missing column"):
        read_features(_write_csv(tmp_path / "f.csv", ["id", "feature"], [["a", "b"]]), "item_id")
    with pytest.raises(LoadError, match="unknown column"):
        read_interactions(_write_csv(tmp_path / "u.csv", ["user_id", "item_id", "wieght"], [["a", "b", "1"]]))
    texts = _write_csv(tmp_path / "t.csv", ["item_id", "text"], [["a", "one"], ["a", "two"], ["b", " "]])
    with pytest.raises(LoadError) as info:
        read_item_text(texts)
    assert [(p.line, p.reason) for p in info.value.problems] == [
        (3, "item 'a' already has a text (line 2)"), (4, "empty text")]


def test_event_types_map_to_weights_negatives_are_never_positive_and_decay_with_time(tmp_path: Path) -> None:
    day = 86400
    rows = [["u", "a", "click", 10 * day], ["u", "a", "complete", 10 * day],   # strongest event wins
            ["u", "b", "like", 10 * day], ["u", "b", "dismiss", 11 * day],      # negative removes the pair
            ["u", "c", "like", 0], ["v", "c", "report", 5 * day], ["v", "a", "impression", 11 * day]]
    path = _write_csv(tmp_path / "events.csv", ["user_id", "item_id", "event", "timestamp"], rows)
    raw = read_interactions(path)
    assert raw.weights == {("u", "a"): 4.0, ("u", "c"): 5.0}
    assert ("u", "b") in raw.negatives and ("v", "c") in raw.negatives
    decayed = read_interactions(path, half_life_days=1.0)
    assert decayed.weights[("u", "a")] == pytest.approx(4.0 * 0.5)  # 1 day older than the latest
    assert decayed.weights[("u", "c")] == pytest.approx(5.0 * 0.5 ** 11)
    custom = read_interactions(path, event_weights={"click": 1, "complete": 2, "like": 3, "dismiss": -1, "report": -1, "impression": 0})
    assert custom.weights == {("u", "a"): 2.0, ("u", "c"): 3.0}
    bad = _write_csv(tmp_path / "e2.csv", ["user_id", "item_id", "event"], [["u", "a", "clik"]])
    with pytest.raises(LoadError, match="unknown event type 'clik'"):
        read_interactions(bad)
    # a weight for an event type the data never has is most likely a typo: said, not ignored
    result = _run(["evaluate", "--interactions", str(path), "--event-weight", "lik=5", "--compare", "popularity",
                   "--split", "random", "--test-share", "0.5"], tmp_path / "home")
    assert "note: --event-weight lik: no event of that type in events.csv" in result.stderr, result.output
    plain = _write_csv(tmp_path / "plain.csv", ["user_id", "item_id"], [["u", "a"], ["u", "b"], ["v", "a"]])
    result = _run(["evaluate", "--interactions", str(plain), "--event-weight", "like=5", "--compare", "popularity"],
                  tmp_path / "home")
    assert "plain.csv has no event column: --event-weight is not used" in result.stderr, result.output
    result = _run(["evaluate", "--event-weight", "foo=3", "--compare", "popularity"], tmp_path / "home")
    assert result.exit_code == 2 and "foo: Solace's event log records only" in result.stderr


# ----------------------------------------------------------------------------- splits
def test_time_and_cold_item_splits_on_loaded_data(tmp_path: Path) -> None:
    wb = load_files(**_group_data(tmp_path))
    split = make_split(wb, "time", 0.3)
    m, ts = wb.data.interactions, wb.timestamps.tocsr()
    assert split.train.nnz + split.test.nnz == m.nnz
    for u in range(m.shape[0]):
        tr = split.train[u].indices
        te = split.test[u].indices
        if len(te):
            assert ts[u, tr].toarray().max() <= ts[u, te].toarray().min()  # test is the latest
    cold = make_split(wb, "cold-items", 0.25, random_state=3)
    assert cold.cold_items is not None and len(cold.cold_items) == 10
    assert cold.train[:, cold.cold_items].nnz == 0
    assert set(np.unique(cold.test.indices)) <= set(cold.cold_items)
    with pytest.raises(ValueError, match="predefined split needs"):
        make_split(wb, "predefined")


# ----------------------------------------------------------------------------- cold items
@pytest.mark.parametrize("feature_weight", [None, 0.2])
def test_cold_items_get_finite_scores_from_features_that_rank_them_well(tmp_path: Path, feature_weight: float | None) -> None:
    wb = load_files(**_group_data(tmp_path, n_users=120))
    train, test, cold = cold_item_split(wb.data.interactions, 0.25, random_state=1)
    cfg = resolve_configs(["lightfm"], {"lightfm": {"epochs": 15, "no_components": 16, "feature_weight": feature_weight}})[0]
    data = config_data(wb, cfg, train, 42)
    # cold items carry no id feature: their row is their features alone, on a warm row's scale
    names = np.asarray(data.item_feature_names)
    for c in cold:
        cols = data.item_features[c].indices
        assert len(cols) and not any(n.startswith("item:") for n in names[cols])
        assert abs(data.item_features[c]).sum() == pytest.approx(1.0)
    model = NewItemsFromFeatures(build_model(cfg, 42, 1)).fit(data)
    scores = model.user_vectors() @ model.item_vectors().T
    assert np.isfinite(scores[:, cold]).all()
    assert np.ptp(scores[:, cold], axis=1).max() > 0  # features distinguish cold items
    metrics = evaluate_model(model, train, test, k=5)
    assert metrics["auc"] > 0.8, metrics  # the group feature places new items next to their group
    pure_cf = build_model(CONFIGS["lightfm-ref"], 42, 1).fit(data)
    assert evaluate_model(pure_cf, train, test, k=5)["auc"] < metrics["auc"]


# ----------------------------------------------------------------------------- CLI
def _run(args: list[str], home: Path) -> object:
    from solace.cli import cli

    env = {"SOLACE_HOME": str(home), "SOLACE_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    return CliRunner().invoke(cli, args, env=env, catch_exceptions=False)


def test_list_configs_names_every_configuration_in_aligned_columns(tmp_path: Path) -> None:
    from training.configs import CONFIGS

    result = _run(["evaluate", "--list-configs"], tmp_path / "home")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == list(CONFIGS)
    # the algorithm column starts at the same place on every line, however long the name
    starts = {line.index(f" {cfg.algorithm} ", len(cfg.name)) for line, cfg in zip(lines, CONFIGS.values())}
    assert len(starts) == 1


def test_evaluate_cli_end_to_end_writes_table_json_and_a_self_contained_html(tmp_path: Path) -> None:
    files = _group_data(tmp_path, n_users=120)
    out_json, out_html = tmp_path / "m.json", tmp_path / "r.html"
    result = _run(["evaluate", "--interactions", str(files["interactions"]),
                   "--item-features", str(files["item_features"]), "--user-features", str(files["user_features"]),
                   "--split", "random", "--compare", "lightfm-ref,als-ref,popularity,lightfm", "--k", "5",
                   "--set", "lightfm.epochs=15", "--json", str(out_json), "--html", str(out_html)], tmp_path / "home")
    assert result.exit_code == 0, result.output
    table = [line for line in result.stdout.splitlines() if line.strip()]
    assert table[0].split()[:3] == ["configuration", "precision@5", "recall@5"]
    assert [line.split()[0] for line in table[2:]] == ["lightfm-ref", "als-ref", "popularity", "lightfm"]
    body = json.loads(out_json.read_text())
    assert set(body) == {"lightfm-ref", "als-ref", "popularity", "lightfm", "_run"}
    for name in ("lightfm-ref", "als-ref", "popularity", "lightfm"):
        assert set(body[name]) == {"precision@5", "recall@5", "ndcg@5", "map@5", "auc", "coverage", "diversity"}
    assert body["lightfm"]["precision@5"] > body["popularity"]["precision@5"]  # groups are learnable
    assert body["_run"]["configurations"]["lightfm"]["params"]["epochs"] == 15
    page = out_html.read_text()
    assert page.count("data:image/png;base64,") >= 2
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page)
    assert "<script" not in page and "<link" not in page
    assert "lightfm-ref" in page and f"{body['lightfm']['auc']:.4f}" in page


def test_evaluate_repeats_report_the_mean_and_spread_of_per_seed_runs(tmp_path: Path) -> None:
    files = _group_data(tmp_path, n_users=120)
    out_json = tmp_path / "m.json"
    result = _run(["evaluate", "--interactions", str(files["interactions"]), "--split", "random",
                   "--compare", "als-ref,popularity", "--k", "5", "--repeats", "3", "--seed", "7",
                   "--baseline", "popularity", "--json", str(out_json), "--html", str(tmp_path / "r.html")],
                  tmp_path / "home")
    assert result.exit_code == 0, result.output
    assert "mean over 3 repeats (seeds 7..9)" in result.stdout and "standard deviation over 3 repeats" in result.stdout
    body = json.loads(out_json.read_text())
    runs = body["_run"]["per_repeat"]
    assert [r["seed"] for r in runs] == [7, 8, 9] and body["_run"]["repeats"] == 3
    values = [r["metrics"]["als-ref"]["precision@5"] for r in runs]
    assert len(set(values)) > 1  # each repeat holds out another random split
    assert body["als-ref"]["precision@5"] == pytest.approx(np.mean(values))
    assert body["als-ref"]["precision@5_sd"] == pytest.approx(np.std(values, ddof=1))
    page = (tmp_path / "r.html").read_text()
    assert f"{body['als-ref']['precision@5']:.4f} &plusmn; {body['als-ref']['precision@5_sd']:.4f}" in page
    # gains are computed run by run, then averaged
    pops = [r["metrics"]["popularity"]["precision@5"] for r in runs]
    per_run = [a / p - 1 for a, p in zip(values, pops)]
    gains = body["_run"]["gains"]
    assert body["_run"]["baseline"] == "popularity"
    assert gains["als-ref"]["precision@5"] == pytest.approx(np.mean(per_run))
    assert gains["als-ref"]["precision@5_sd"] == pytest.approx(np.std(per_run, ddof=1))
    assert gains["popularity"]["precision@5"] == pytest.approx(0.0)
    assert f"als-ref: precision@5 {np.mean(per_run):+.1%}" in result.stdout
    assert "Relative gain over popularity" in page
    wrong = _run(["evaluate", "--interactions", str(files["interactions"]), "--compare", "als-ref",
                  "--baseline", "popularity"], tmp_path / "home")
    assert wrong.exit_code != 0 and "--baseline" in wrong.output
    single = _run(["evaluate", "--interactions", str(files["interactions"]), "--split", "random",
                   "--compare", "als-ref", "--k", "5", "--seed", "8", "--json", str(tmp_path / "one.json")], tmp_path / "home")
    assert single.exit_code == 0, single.output
    assert json.loads((tmp_path / "one.json").read_text())["als-ref"]["precision@5"] == pytest.approx(values[1])
    bad = _run(["evaluate", "--interactions", str(files["interactions"]), "--repeats", "0"], tmp_path / "home")
    assert bad.exit_code != 0 and "--repeats" in bad.output


def test_evaluate_cli_errors_are_one_line_and_non_zero(tmp_path: Path) -> None:
    files = _group_data(tmp_path)
    bad = tmp_path / "bad.csv"
    bad.write_text("user_id,item_id,weight\nu1,i1,1\nu2,i2,x\n", encoding="utf-8")
    cases = [
        (["evaluate", "--interactions", str(bad), "--compare", "popularity"], "bad.csv:3: weight 'x' is not a number"),
        (["evaluate", "--interactions", str(files["interactions"]), "--compare", "nope"], "unknown configuration nope"),
        (["evaluate", "--interactions", str(files["interactions"]), "--split", "predefined", "--compare", "popularity"],
         "predefined split needs"),
        (["evaluate", "--interactions", str(files["interactions"]), "--compare", "content"],
         "content needs item texts: give --item-text FILE"),
        (["evaluate", "--item-features", str(files["item_features"])], "--item-features needs --interactions"),
        (["evaluate", "--interactions", str(files["interactions"]), "--compare", "popularity", "--set", "x=1"], "CONFIG.KEY=VALUE"),
    ]
    for args, message in cases:
        result = _run(args, tmp_path / "home")
        assert result.exit_code != 0, args
        lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith(("Usage:", "Try "))]
        assert len(lines) == 1 and message in lines[0], result.stderr


def test_more_than_five_bad_rows_are_all_listed_in_a_file(tmp_path: Path) -> None:
    bad = tmp_path / "many.csv"
    bad.write_text("user_id,item_id,weight\n" + "".join(f"u{n},i{n},heavy\n" for n in range(8)), encoding="utf-8")
    result = _run(["evaluate", "--interactions", str(bad), "--compare", "popularity"], tmp_path / "home")
    assert result.exit_code == 1 and "(and 3 more)" in result.stderr
    listed = (tmp_path / "home" / "load-problems.txt").read_text().splitlines()
    assert listed == [f"many.csv:{n + 2}: weight 'heavy' is not a number" for n in range(8)]
    assert str(tmp_path / "home" / "load-problems.txt") in result.stderr


def test_evaluate_with_a_test_file_and_the_time_split(tmp_path: Path) -> None:
    files = _group_data(tmp_path)
    test_file = _write_csv(tmp_path / "test.csv", ["user_id", "item_id"], [["u0", "i1"], ["u1", "i12"], ["ghost", "i1"]])
    out = tmp_path / "t.json"
    result = _run(["evaluate", "--interactions", str(files["interactions"]), "--test", str(test_file),
                   "--compare", "popularity", "--json", str(out)], tmp_path / "home")
    assert result.exit_code == 0, result.output
    assert "1 test pairs name users or items absent" in result.stderr
    assert json.loads(out.read_text())["_run"]["test_interactions"] == 2
    result = _run(["evaluate", "--interactions", str(files["interactions"]), "--split", "time",
                   "--compare", "popularity,als-ref"], tmp_path / "home")
    assert result.exit_code == 0 and "split time" in result.stderr


def test_train_and_tune_accept_the_data_options(tmp_path: Path) -> None:
    files = _group_data(tmp_path)
    home = tmp_path / "home"
    result = _run(["train", "--config", "lightfm", "--param", "epochs=5", "--interactions", str(files["interactions"]),
                   "--item-features", str(files["item_features"])], home)
    assert result.exit_code == 0, result.output
    version = re.search(r"model version (\S+)", result.stdout).group(1)
    manifest = json.loads((home / "models" / version / "manifest.json").read_text())
    assert manifest["configuration"] == "lightfm" and manifest["params"]["epochs"] == 5
    assert manifest["n_items"] == 40 and "group:0" in json.loads((home / "models" / version / "ids.json").read_text())["item_features"]
    out = tmp_path / "tune.json"
    result = _run(["tune", "--interactions", str(files["interactions"]), "--config", "lightfm-ref", "--trials", "2",
                   "--json", str(out)], home)
    assert result.exit_code == 0, result.output
    body = json.loads(out.read_text())
    assert len(body["trials"]) == 2 and "no_components" in body["best_params"]
    assert "use them: --set lightfm-ref." in result.stdout


def test_tune_folds_score_a_trial_on_the_mean_of_several_validation_holdouts(tmp_path: Path) -> None:
    from training.splits import random_split
    from training.workbench import Split, run_config

    files = _group_data(tmp_path)
    out = tmp_path / "tune.json"
    result = _run(["tune", "--interactions", str(files["interactions"]), "--config", "als-ref", "--trials", "1",
                   "--folds", "3", "--split", "random", "--seed", "5", "--threads", "1", "--json", str(out)],
                  tmp_path / "home")
    assert result.exit_code == 0, result.output
    body = json.loads(out.read_text())
    assert body["folds"] == 3 and "3 validation splits" in result.output
    trial = body["trials"][0]
    wb = load_files(**{k: v for k, v in files.items() if k == "interactions"})
    outer = make_split(wb, "random", 0.2, random_state=5)
    cfg = resolve_configs(["als-ref"], {"als-ref": trial["params"]})[0]
    per_fold = [run_config(wb, Split("v", *random_split(outer.train, 0.2, 5 + 1 + f)), cfg, 10, 5, 1).metrics["precision@10"]
                for f in range(3)]
    assert len(set(per_fold)) > 1  # three different holdouts
    assert trial["value"] == pytest.approx(np.mean(per_fold))


# ----------------------------------------------------------------------------- MovieLens
def _tiny_movielens(root: Path, bad_line: bool = False) -> Path:
    d = root / "ml-tiny"
    d.mkdir()
    genres = ["unknown", "Action", "Comedy"]
    (d / "u.genre").write_text("".join(f"{g}|{n}\n" for n, g in enumerate(genres)) + "\n", encoding="latin-1")
    (d / "u.item").write_text("1|Alpha (1995)|01-Jan-1995||url|0|1|0\n2|Beta (1996)|01-Jan-1996||url|0|0|1\n"
                              "3|Gamma (1997)|01-Jan-1997||url|0|1|1\n", encoding="latin-1")
    (d / "u.user").write_text("1|17|F|student|0\n2|30|M|writer|0\n", encoding="latin-1")
    data = "1\t1\t5\t100\n1\t2\t3\t200\n2\t3\t4\t300\n2\t1\t1\t400\n"
    if bad_line:
        data += "2\t2\tfive\t500\n"
    (d / "u.data").write_text(data, encoding="latin-1")
    (d / "ua.base").write_text("1\t1\t5\t100\n2\t3\t4\t300\n", encoding="latin-1")
    (d / "ua.test").write_text("1\t2\t3\t200\n2\t1\t1\t400\n", encoding="latin-1")
    return d


def test_movielens_layout_loader_on_a_tiny_copy(tmp_path: Path) -> None:
    from training.movielens import load_movielens

    wb = load_movielens(_tiny_movielens(tmp_path), plots=None, embed=False)
    assert wb.data.user_ids == ["1", "2"] and wb.data.item_ids == ["1", "2", "3"]
    assert wb.data.interactions.nnz == 4
    assert wb.item_features["3"] == [("genre:Action", 1.0), ("genre:Comedy", 1.0)]
    assert wb.user_features["1"] == [("age:<18", 1.0), ("gender:F", 1.0), ("occupation:student", 1.0)]
    train, test = wb.predefined
    assert train.toarray().tolist() == [[1, 0, 0], [0, 0, 1]] and test.toarray().tolist() == [[0, 1, 0], [1, 0, 0]]
    (tmp_path / "b").mkdir()
    bad_dir = _tiny_movielens(tmp_path / "b", bad_line=True)
    with pytest.raises(LoadError) as info:
        load_movielens(bad_dir, plots=None, embed=False)
    assert [(p.file, p.line) for p in info.value.problems] == [("u.data", 5)]
    # a predefined split that names an unknown item or user is refused, not trained a row short
    (tmp_path / "c").mkdir()
    odd = _tiny_movielens(tmp_path / "c")
    (odd / "ua.base").write_text("1\t1\t5\t100\n2\tabc\t4\t300\n7\t3\t4\t300\n", encoding="latin-1")
    with pytest.raises(LoadError) as info:
        load_movielens(odd, plots=None, embed=False)
    assert [(p.file, p.line, p.reason) for p in info.value.problems] == [
        ("ua.base", 2, "item 'abc' is not in u.item"), ("ua.base", 3, "user '7' is not in u.user")]
    (odd / "u.user").unlink()  # a missing file is one problem, not one per rating
    with pytest.raises(LoadError) as info:
        load_movielens(odd, plots=None, embed=False)
    assert [(p.file, p.reason.split(" /")[0]) for p in info.value.problems] == [
        ("u.user", "missing file"), ("ua.base", "item 'abc' is not in u.item")]


def test_train_measures_a_version_on_the_holdout_it_is_asked_for(tmp_path: Path) -> None:
    """`solace train --split predefined` on MovieLens reports the ua.test figures that
    `solace evaluate` prints for the same configuration, and the manifest says which
    holdout its metrics come from."""
    home = tmp_path / "home"
    ml = _tiny_movielens(tmp_path)
    result = _run(["train", "--config", "popularity", "--movielens", str(ml), "--split", "predefined"], home)
    assert result.exit_code == 0, result.output
    version = re.search(r"model version (\S+)", result.stdout).group(1)
    manifest = json.loads((home / "models" / version / "manifest.json").read_text())
    assert manifest["holdout"]["split"] == "predefined" and manifest["holdout"]["test_interactions"] == 2
    out = tmp_path / "e.json"
    result = _run(["evaluate", "--movielens", str(ml), "--split", "predefined", "--compare", "popularity",
                   "--json", str(out)], home)
    assert result.exit_code == 0, result.output
    measured = json.loads(out.read_text())["popularity"]
    assert manifest["metrics"]["precision@10"] == pytest.approx(measured["precision@10"])
    assert manifest["metrics"]["ndcg@10"] == pytest.approx(measured["ndcg@10"])
    files = _group_data(tmp_path)
    result = _run(["train", "--algorithm", "popularity", "--interactions", str(files["interactions"])], home)
    version = re.search(r"model version (\S+)", result.stdout).group(1)
    manifest = json.loads((home / "models" / version / "manifest.json").read_text())
    assert manifest["holdout"]["split"] == "random" and "20%" in manifest["holdout"]["note"]
    result = _run(["train", "--algorithm", "popularity", "--interactions", str(files["interactions"]),
                   "--split", "predefined"], home)
    assert result.exit_code == 2 and "predefined split needs" in result.stderr


def test_movielens_100k_reads_the_grouplens_files() -> None:
    if not (ML_DIR / "u.data").is_file():
        pytest.skip(f"MovieLens 100K not found at {ML_DIR} (set SOLACE_SHARED)")
    from training.movielens import load_movielens

    wb = load_movielens(ML_DIR, plots=None, embed=False)
    assert wb.data.shape == (943, 1682) and wb.data.interactions.nnz == 100000
    train, test = wb.predefined
    assert (train.nnz, test.nnz) == (90570, 9430)
    assert train.multiply(test).nnz == 0 and (test.getnnz(axis=1) == 10).all()
    kinds = {f.split(":")[0] for feats in wb.user_features.values() for f, _ in feats}
    assert kinds == {"age", "gender", "occupation"}
    assert {f for feats in wb.item_features.values() for f, _ in feats} >= {"genre:Action", "genre:Drama"}


@pytest.mark.slow
def test_movielens_plots_are_embedded_once_and_cached(tmp_path: Path) -> None:
    plots = SHARED / "data" / "ml-100k-plots" / "items_info.json"
    if not (ML_DIR / "u.data").is_file() or not plots.is_file():
        pytest.skip(f"MovieLens 100K or its plots not found under {SHARED} (set SOLACE_SHARED)")
    from training.movielens import load_movielens

    wb = load_movielens(ML_DIR, plots=plots, cache_dir=tmp_path, threads=2)
    emb = wb.data.item_embeddings
    assert emb.shape == (1682, 384) and np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-3)
    assert "Toy Story" in wb.item_texts["1"]
    from storage.embeddings import TextVectorCache

    cache = TextVectorCache.in_dir(tmp_path)
    assert cache.count() == len(set(wb.item_texts.values()))  # one vector per distinct text
    cache.close()
    again = load_movielens(ML_DIR, plots=plots, cache_dir=tmp_path)
    assert np.array_equal(again.data.item_embeddings, emb)


# ----------------------------------------------------------------------------- score blend
def _zscores(model: object, seen: np.ndarray) -> np.ndarray:
    s = model.user_vectors().astype(np.float64) @ model.item_vectors().T.astype(np.float64)
    return (s - s[:, seen].mean(axis=1, keepdims=True)) / s[:, seen].std(axis=1, keepdims=True)


def test_score_blend_is_one_dot_product_of_per_user_standardised_scores(tmp_path: Path) -> None:
    from training.models import make_algorithm
    from training.models.blend import ScoreBlend

    wb = load_files(**_group_data(tmp_path, n_users=120))
    train, test, cold = cold_item_split(wb.data.interactions, 0.25, random_state=1)
    data = wb.data.with_interactions(train)
    seen = np.asarray(train.sum(axis=0)).ravel() > 0

    def parts() -> list:
        return [make_algorithm("als", factors=8, iterations=10, random_state=1),
                make_algorithm("popularity")]

    blend = ScoreBlend(parts(), [0.7, 0.3]).fit(data)
    als, pop = blend.models
    got = blend.user_vectors().astype(np.float64) @ blend.item_vectors().T.astype(np.float64)
    want = 0.7 * _zscores(als, seen) + 0.3 * _zscores(pop, seen)
    # per user, a blend score is the weighted z-scores up to a constant shift
    assert np.allclose((got - want)[:, seen], (got - want)[:, seen][:, :1], atol=1e-3)
    # neither part can place an item without interactions: it scores as the average item, 0
    assert np.allclose(got[:, cold], 0.0, atol=1e-4)
    assert got.shape == (120, 40) and blend.user_vectors().dtype == np.float32
    # weight 1 on one part ranks exactly like that part
    alone = ScoreBlend(parts(), [1.0, 0.0]).fit(data)
    a = alone.user_vectors() @ alone.item_vectors().T
    ref = _zscores(alone.models[0], seen)
    assert (np.argsort(-a[:, seen], axis=1)[:, :5] == np.argsort(-ref[:, seen], axis=1)[:, :5]).mean() > 0.99
    with pytest.raises(ValueError, match="one weight per model"):
        ScoreBlend(parts(), [1.0])


def test_blend_configuration_keeps_the_feature_part_s_cold_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace

    from training.configs import ModelConfig, model_for
    from training.models.blend import ScoreBlend
    from training.workbench import run_config

    wb = load_files(**_group_data(tmp_path, n_users=120))
    lfm = replace(CONFIGS["lightfm"], name="lfm-small", params={**CONFIGS["lightfm"].params, "epochs": 15, "no_components": 16})
    monkeypatch.setitem(CONFIGS, "lfm-small", lfm)
    blend = ModelConfig("blend-small", "blend", {"parts": ["lfm-small", "als-ref"], "weights": [0.5, 0.5]},
                        lfm.item_parts, lfm.user_parts)
    monkeypatch.setitem(CONFIGS, "blend-small", blend)
    model = model_for(blend, 42, 1)
    assert isinstance(model, ScoreBlend) and isinstance(model.models[0], NewItemsFromFeatures)
    split = make_split(wb, "cold-items", 0.25, random_state=1)
    result = run_config(wb, split, resolve_configs(["blend-small"])[0], k=5)
    assert result.metrics["auc"] > 0.8, result.metrics  # cold items placed by the LightFM part's features
    warm = run_config(wb, make_split(wb, "random", 0.25, random_state=1), resolve_configs(["blend-small"])[0], k=5)
    assert warm.metrics["auc"] > 0.8
    with pytest.raises(ValueError, match="another feature recipe"):
        model_for(replace(blend, item_parts=("identity",)), 42, 1)
    with pytest.raises(ValueError, match="as many weights as parts"):
        model_for(replace(blend, params={"parts": ["lfm-small", "als-ref"], "weights": [1.0]}), 42, 1)
    with pytest.raises(ValueError, match="unknown blend part"):
        model_for(replace(blend, params={"parts": ["nope"], "weights": [1.0]}), 42, 1)


def test_every_named_blend_builds_with_its_parts_recipe() -> None:
    """Each blend in CONFIGS (hybrid-als, hybrid-als-60...) shares its feature parts' recipe
    and gives one weight per part, so it builds without fitting anything."""
    from training.configs import model_for
    from training.models.blend import ScoreBlend

    blends = [c for c in CONFIGS.values() if c.algorithm == "blend"]
    assert {"hybrid-als", "hybrid-als-60"} <= {c.name for c in blends}
    for cfg in blends:
        model = model_for(cfg, 42, 1)
        assert isinstance(model, ScoreBlend)
        assert len(model.models) == len(model.weights) == len(cfg.params["parts"])
    assert model_for(CONFIGS["hybrid-als-60"], 42, 1).weights == [0.6, 0.4]


# ----------------------------------------------------------------------------- ALS with user features
def _demographic_data(groups: int = 4, per: int = 10, users_per_group: int = 30, seed: int = 0):
    """Group g's users engage with group g's items and carry the feature ``segment:g``;
    each group also has probe users with that feature but one click on another group's item."""
    import scipy.sparse as sp

    from training.dataset import InteractionData, feature_matrix

    rng = np.random.default_rng(seed)
    rows, cols, feats, probes = [], [], {}, []
    user_ids = []
    for g in range(groups):
        for _ in range(users_per_group):
            u = len(user_ids)
            user_ids.append(f"u{u}")
            feats[f"u{u}"] = [(f"segment:{g}", 1.0)]
            for i in rng.choice(np.arange(g * per, (g + 1) * per), size=5, replace=False):
                rows.append(u)
                cols.append(int(i))
        for _ in range(3):
            u = len(user_ids)
            user_ids.append(f"u{u}")
            feats[f"u{u}"] = [(f"segment:{g}", 1.0)]
            rows.append(u)
            cols.append(((g + 1) % groups) * per)  # one click on the next group's first item
            probes.append((u, g))
    n_items = groups * per
    m = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(user_ids), n_items))
    ufm, unames = feature_matrix(user_ids, feats, identity_prefix="user:")
    data = InteractionData(user_ids, [f"i{i}" for i in range(n_items)], m, ufm, unames)
    return data, probes, per


def test_als_user_feature_columns_pull_a_user_towards_their_segment() -> None:
    from training.models.matrix_factorization import ImplicitALS, user_feature_columns

    data, probes, per = _demographic_data()
    extra = user_feature_columns(data, 0.5)
    assert extra is not None and extra.shape == (len(data.user_ids), 4)  # identity columns left out
    assert np.allclose(extra.data, 0.5)
    assert user_feature_columns(data, 0.0) is None

    def own_segment_share(weight: float) -> float:
        model = ImplicitALS(factors=8, regularization=0.5, alpha=2.0, iterations=20,
                            user_feature_weight=weight).fit(data)
        assert model.item_vectors().shape[0] == data.shape[1]  # pseudo-items are not items
        scores = model.user_vectors() @ model.item_vectors().T
        share = []
        for u, g in probes:
            s = scores[u].copy()
            s[data.interactions[u].indices] = -np.inf
            top = np.argsort(-s)[:per]
            share.append(np.mean(top // per == g))
        return float(np.mean(share))

    without, with_features = own_segment_share(0.0), own_segment_share(1.0)
    # one click on another segment is all pure ALS knows (0.13-0.25 over seeds 1-3);
    # with the segment as a column most of the top 10 is the user's segment (0.63-0.70)
    assert without < 0.35 and with_features > 0.55 and with_features > without + 0.3, (without, with_features)
    assert ImplicitALS(user_feature_weight=0.5).get_params()["user_feature_weight"] == 0.5
    assert "user_feature_weight" not in ImplicitALS().get_params()  # old manifests unchanged
    with pytest.raises(ValueError, match="user_feature_weight"):
        ImplicitALS(user_feature_weight=-1.0)


def test_blend_parts_are_checked_only_on_the_feature_sides_they_use() -> None:
    from dataclasses import replace

    from training.configs import model_for, recipe_mismatch

    blend = CONFIGS["hybrid-als-demographics"]
    als = CONFIGS["als-demographics"]
    assert recipe_mismatch(als, blend) == []  # ALS uses no item features: item side not compared
    assert recipe_mismatch(replace(als, feature_weight=0.5), blend) == ["feature_weight"]
    assert recipe_mismatch(replace(als, user_parts=("features",)), blend) == ["user_parts"]
    with pytest.raises(ValueError, match=r"another feature recipe than the blend \(feature_weight\)"):
        model_for(replace(blend, feature_weight=0.5), 42, 1)  # the blend's recipe no longer fits its parts
    assert model_for(blend, 42, 1).weights == [0.6, 0.4]


def test_the_best_configuration_trains_as_a_version_and_publishes_to_redis_for_one_tenant(
    tmp_path: Path, redis_url: str, redis_prefix: str, encoder: object,
) -> None:
    """The data scientist's path of issue 7: train the blend `evaluate` recommends on their
    own files, then publish it. File user ids name no tenant, so their vectors are published
    only for the tenant given, and ids that look like personal data are refused whole."""
    import redis

    from storage.keyspace import Keyspace
    from storage.registry import ModelRegistry

    files = _group_data(tmp_path)
    texts = _write_csv(tmp_path / "texts.csv", ["item_id", "text"],
                       [[f"i{i}", f"a short exercise for group {i // 10}"] for i in range(40)])
    home = tmp_path / "home"
    env = {"SOLACE_HOME": str(home), "SOLACE_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "SOLACE_REDIS_URL": redis_url, "SOLACE_REDIS_PREFIX": redis_prefix}
    from solace.cli import cli

    def run(args: list[str]) -> object:
        return CliRunner().invoke(cli, args, env=env, catch_exceptions=False)

    data = ["--interactions", str(files["interactions"]), "--item-features", str(files["item_features"]),
            "--user-features", str(files["user_features"]), "--item-text", str(texts)]
    result = run(["train", "--config", "hybrid-als-demographics", *data])
    assert result.exit_code == 0, result.output
    version = re.search(r"model version (\S+)", result.stdout).group(1)
    manifest = json.loads((home / "models" / version / "manifest.json").read_text())
    assert manifest["algorithm"] == "blend" and manifest["configuration"] == "hybrid-als-demographics"
    assert version.startswith("hybrid-als-demographics-")  # named after what was trained
    assert manifest["data_options"]["interactions"] == str(files["interactions"])
    assert [p["algorithm"] for p in manifest["params"]["parts"]] == ["lightfm", "als"]
    assert manifest["params"]["weights"] == [0.6, 0.4]
    assert manifest["metrics"]["auc"] > 0.7  # the groups are learnt (random: 0.5), measured on the holdout
    listed = run(["models", "list"]).stdout
    assert re.search(rf"{version}\s+hybrid-als-demographics\s", listed), listed

    client = redis.Redis.from_url(redis_url)
    keys = Keyspace(redis_prefix)
    result = run(["publish", version])
    assert result.exit_code == 0 and "0 user vectors" in result.stdout
    assert "--tenant" in result.stderr and "not approved catalog resources" in result.stderr
    assert client.get(keys.active_model).decode() == version
    assert not list(client.scan_iter(match=f"{redis_prefix}:t:*", count=1000))
    assert not list(client.scan_iter(match=f"{redis_prefix}:uv:*", count=1000))  # no user vectors at all

    result = run(["publish", version, "--tenant", "acme"])
    assert result.exit_code == 0 and "80 user vectors" in result.stdout
    mv = ModelRegistry(home / "models").get(version)
    row = mv.ids()["users"].index("u3")
    stored = np.frombuffer(client.hget(*keys.user_vector("acme", version, "u3")), dtype=np.float32)
    np.testing.assert_array_equal(stored, mv.arrays()["user_vectors"][row].astype(np.float32))
    from storage.snapshot import stored_user_vectors

    assert len(stored_user_vectors(client, keys, version, "acme")) == 80

    emails = _write_csv(tmp_path / "emails.csv", ["user_id", "item_id"],
                        [["someone@example.org", "i1"], ["someone@example.org", "i2"], ["u9", "i1"]])
    result = run(["train", "--config", "popularity", "--interactions", str(emails)])
    assert result.exit_code == 1 and "emails.csv:2: user_id looks like an email address" in result.output
    # a long plain number trains (datasets number their users) but is refused as a tenant's user id
    numbers = _write_csv(tmp_path / "numbers.csv", ["user_id", "item_id"],
                         [["07700900123", "i1"], ["07700900123", "i2"], ["u9", "i1"]])
    result = run(["train", "--config", "popularity", "--interactions", str(numbers)])
    assert result.exit_code == 0, result.output
    personal = re.search(r"model version (\S+)", result.stdout).group(1)
    result = run(["publish", personal, "--tenant", "acme"])
    assert result.exit_code == 1 and "07700900123" in result.output and "nothing published" in result.output
    assert client.get(keys.active_model).decode() == version  # the active model is untouched
    assert client.get(keys.model_meta(personal)) is None


def test_promote_with_require_metric_guards_on_the_metric_and_on_comparable_data(
    tmp_path: Path, redis_url: str, redis_prefix: str,
) -> None:
    from solace.cli import cli
    from storage.registry import ModelRegistry

    home = tmp_path / "home"
    env = {"SOLACE_HOME": str(home), "SOLACE_REDIS_URL": redis_url, "SOLACE_REDIS_PREFIX": redis_prefix}
    registry = ModelRegistry(home / "models")
    vectors = {"item_vectors": np.ones((2, 3), np.float32), "user_vectors": np.ones((1, 3), np.float32)}
    ids = {"users": ["acme:u1"], "items": ["a", "b"]}

    def version(p10: float, source: str, data: str = "fp-a") -> str:
        extra = {"data_source": source, "data_fingerprint_full": data}
        return registry.save("als", {}, vectors, ids, {"precision@10": p10}, "fp", extra).version

    def promote(v: str, *extra: str) -> object:
        return CliRunner().invoke(cli, ["models", "promote", v, *extra], env=env, catch_exceptions=False)

    first = version(0.20, "solace")
    assert promote(first).exit_code == 0
    worse = version(0.19, "solace store")  # trained with --config on the store: comparable
    result = promote(worse, "--require-metric", "precision@10")
    assert result.exit_code == 1 and "below the active" in result.output
    better = version(0.25, "solace")
    assert promote(better, "--require-metric", "precision@10").exit_code == 0
    assert registry.active() == better
    elsewhere = version(0.90, "movielens:/data/ml-100k")
    result = promote(elsewhere, "--require-metric", "precision@10")
    assert result.exit_code == 1 and "cannot be compared" in result.output and registry.active() == better
    result = promote(version(0.30, "solace"), "--require-metric", "ndcg@10")
    assert result.exit_code == 1 and "no metric ndcg@10" in result.output
    assert promote(elsewhere).exit_code == 0 and registry.active() == elsewhere  # without the guard: allowed
    # two versions trained on files: comparable only if the files held the same data
    on_files = version(0.30, "files", "fp-a")
    assert promote(on_files).exit_code == 0
    other_files = version(0.50, "files", "fp-b")
    result = promote(other_files, "--require-metric", "precision@10")
    assert result.exit_code == 1 and "fingerprint fp-b" in result.output and registry.active() == on_files
    same_files = version(0.31, "files", "fp-a")
    assert promote(same_files, "--require-metric", "precision@10").exit_code == 0
    # the same data measured on another kind of holdout is not comparable either
    on_time = registry.save("als", {}, vectors, ids, {"precision@10": 0.9}, "fp",
                            {"data_source": "files", "data_fingerprint_full": "fp-a",
                             "holdout": {"split": "time"}}).version
    result = promote(on_time, "--require-metric", "precision@10")
    assert result.exit_code == 1 and "time holdout" in result.output and registry.active() == same_files


def test_the_event_log_supports_the_time_split_and_time_decay(deployment: object, tmp_path: Path) -> None:
    """Solace's own event log keeps each pair's latest event time, so a data scientist can
    hold out each user's latest interactions and down-weight old behaviour, as with files."""
    import scipy.sparse as sp

    from solace.cli.data import _store_data

    services, _result = deployment  # type: ignore[misc]  # the fixture's tuple
    plain = _store_data(services, None)
    assert plain.timestamps is not None and plain.timestamps.nnz == plain.data.interactions.nnz
    assert (plain.timestamps.data > 0).all()
    split = make_split(plain, "time", test_share=0.2)
    assert split.test.nnz > 0 and split.train.nnz + split.test.nnz == plain.data.interactions.nnz
    # every held-out pair is at least as recent as the same user's training pairs
    ts = plain.timestamps.tocsr()
    for u in range(0, ts.shape[0], 7):
        test_items = split.test.indices[split.test.indptr[u]:split.test.indptr[u + 1]]
        train_items = split.train.indices[split.train.indptr[u]:split.train.indptr[u + 1]]
        if len(test_items) and len(train_items):
            assert ts[u, test_items].toarray().min() >= ts[u, train_items].toarray().max()

    decayed = _store_data(services, None, half_life_days=1.0)
    before, after = sp.csr_matrix(plain.data.interactions), sp.csr_matrix(decayed.data.interactions)
    assert (after.indices == before.indices).all()
    ratio = after.data / before.data
    assert ratio.max() <= 1.0 + 1e-6 and ratio.min() < 0.99  # old pairs count less, none counts more

    settings = services.settings
    env = {"SOLACE_HOME": str(settings.home), "SOLACE_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "SOLACE_REDIS_URL": settings.redis_url, "SOLACE_REDIS_PREFIX": settings.redis_prefix}
    from solace.cli import cli

    out = tmp_path / "time.json"
    result = CliRunner().invoke(cli, ["evaluate", "--split", "time", "--compare", "popularity,als-ref",
                                      "--half-life-days", "30", "--json", str(out)], env=env)
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["popularity"]["precision@10"] is not None and 0 < report["als-ref"]["auc"] <= 1
