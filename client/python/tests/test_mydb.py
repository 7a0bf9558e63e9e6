"""orrery.mydb against a real hub (tests/conftest.py), as alice with a server token's scopes:
quick queries (JSON and Arrow), batch queries, upload (import), get_table (export) and drop.
"""

from __future__ import annotations

import uuid

import pandas as pd
import pytest

import orrery
from orrery import mydb


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def test_a_quick_query_is_a_dataframe(alice):
    df = mydb.query("SELECT 1 AS one, 'two'::text AS two, 2.5::double precision AS half")
    assert list(df.columns) == ["one", "two", "half"]
    assert df.loc[0, "one"] == 1
    assert df.loc[0, "two"] == "two"
    assert df.loc[0, "half"] == 2.5
    assert df.attrs["truncated"] is False


def test_bigints_past_2_to_the_53_stay_exact(alice):
    df = mydb.query(
        "SELECT 9007199254740993::bigint AS big UNION ALL SELECT NULL UNION ALL "
        "SELECT '-9223372036854775808'::bigint"
    )
    assert str(df["big"].dtype) == "Int64"
    assert df["big"][0] == 9007199254740993
    assert df["big"].isna()[1]
    assert df["big"][2] == -9223372036854775808


def test_a_script_writes_a_table_that_tables_lists(alice):
    name = unique("t")
    mydb.query(
        f"CREATE TABLE {name} (id bigint PRIMARY KEY, mag real); "
        f"COMMENT ON COLUMN {name}.mag IS '[mag] Visual magnitude'; "
        f"INSERT INTO {name} SELECT g, g / 10.0 FROM generate_series(1, 25) g"
    )
    listed = {t["name"]: t for t in mydb.tables()}
    assert name in listed
    mag = next(c for c in listed[name]["columns"] if c["name"] == "mag")
    assert (mag["unit"], mag["description"]) == ("mag", "Visual magnitude")
    df = mydb.query(f"SELECT id, mag FROM {name} ORDER BY id")
    assert len(df) == 25 and df["id"].tolist()[:3] == [1, 2, 3]


def test_the_row_cap_is_flagged_and_warned(alice):
    with pytest.warns(UserWarning, match="row cap"):
        df = mydb.query("SELECT g FROM generate_series(1, 50) g", max_rows=10)
    assert len(df) == 10 and df.attrs["truncated"] is True


def test_sql_errors_carry_the_hub_message(alice):
    with pytest.raises(orrery.OrreryError) as refused:
        mydb.query("SELEC 1")
    assert refused.value.status == 400
    assert "syntax error" in refused.value.message


def test_contexts_start_with_my_mydb(alice):
    listed = mydb.contexts()
    assert listed[0]["name"] == "mydb" and listed[0]["kind"] == "mydb"
    with pytest.raises(orrery.OrreryError) as refused:
        mydb.tables("no_such_context")
    assert refused.value.status == 404


def test_one_user_cannot_read_another_users_table(alice, bob):
    name = unique("secret")
    mydb.query(f"CREATE TABLE {name} AS SELECT 42 AS answer", connection=alice)
    with pytest.raises(orrery.OrreryError) as refused:
        mydb.query(f"SELECT * FROM mydb_alice.{name}", connection=bob)
    assert refused.value.status == 400


def test_arrow_answers_keep_int64_exact(alice):
    response = alice.request(
        "POST",
        alice.user_path("/mydb/query"),
        json={"sql": "SELECT 1"},
        headers={"Accept": mydb.ARROW},
    )
    assert response.headers.get("Content-Type", "").startswith(mydb.ARROW)
    assert response.headers.get("Orrery-Truncated") == "false"
    df = mydb.query("SELECT 9007199254740993::bigint AS big, 0.5::float8 AS x")
    assert str(df["big"].dtype) == "Int64" and df["big"][0] == 9007199254740993


def test_batch_submit_wait_status_and_the_result_table(alice):
    table = unique("batch")
    job = mydb.submit("SELECT g AS n FROM generate_series(1, 100) g", table=table)
    final = mydb.wait(job, timeout=60)
    assert final["status"] == "finished" and final["row_count"] == 100
    assert mydb.status(job)["table"] == table
    assert mydb.query(f"SELECT count(*) AS n FROM {table}")["n"][0] == 100


def test_a_batch_job_can_be_cancelled(alice):
    # A batch result is a table: pg_sleep's void result could not be one, hence FROM pg_sleep.
    job = mydb.submit("SELECT 1 AS slept FROM pg_sleep(60)")
    state = mydb.cancel(job)
    assert state["status"] == "cancelled"
    assert mydb.wait(job, timeout=30)["status"] == "cancelled"


def test_waiting_gives_up_after_the_timeout(alice):
    job = mydb.submit("SELECT 1 AS slept FROM pg_sleep(30)")
    try:
        with pytest.raises(TimeoutError):
            mydb.wait(job, timeout=0.5)
    finally:
        mydb.cancel(job)


def test_upload_get_table_and_drop_round_trip(alice):
    table = unique("up")
    df = pd.DataFrame(
        {
            "id": [9007199254740993, 2, 3],
            "name": ["Sirius", "Rigel", "Vega"],
            "mag": [-1.46, 0.13, 0.03],
        }
    )
    made = mydb.upload(df, table)
    assert made["table"] == table and made["row_count"] == 3
    with pytest.raises(orrery.OrreryError) as exists:
        mydb.upload(df, table)
    assert exists.value.status == 409
    back = mydb.get_table(table).sort_values("name").reset_index(drop=True)
    assert back["name"].tolist() == ["Rigel", "Sirius", "Vega"]
    assert back["id"].tolist() == [2, 9007199254740993, 3]
    mydb.drop(table)
    assert table not in {t["name"] for t in mydb.tables()}
