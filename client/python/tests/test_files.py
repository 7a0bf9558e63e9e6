"""orrery.files against a real hub (tests/conftest.py), with server-token scopes."""

import pytest

import orrery
from orrery import files


def test_default_volumes_and_usage(alice):
    names = {(v["root"], v["volume"]) for v in files.volumes(hub=alice) if v["mine"]}
    assert {("Storage", "persistent"), ("Temporary", "scratch")} <= names
    storage = next(u for u in files.usage(hub=alice) if u["root"] == "Storage")
    assert storage["quota_bytes"] == 10 * 1024**3
    assert storage["warning"] is False


def test_upload_list_download_move_delete(alice, tmp_path):
    local = tmp_path / "table.csv"
    local.write_bytes(b"ra,dec\n1,2\n")
    files.mkdir("py/runs", parents=True, hub=alice)
    uploaded = files.upload(local, "py/runs/table.csv", hub=alice)
    assert uploaded["size"] == 11
    entries = files.list_folder("py/runs", hub=alice)
    assert [(e["name"], e["type"], e["size"]) for e in entries] == [("table.csv", "file", 11)]
    assert files.download("py/runs/table.csv", hub=alice) == b"ra,dec\n1,2\n"
    target = tmp_path / "copy.csv"
    assert files.download("py/runs/table.csv", target, hub=alice) is None
    assert target.read_bytes() == b"ra,dec\n1,2\n"
    files.move("py/runs/table.csv", "py/table.csv", hub=alice)
    assert [e["name"] for e in files.list_folder("py", hub=alice)] == ["runs", "table.csv"]
    with pytest.raises(orrery.OrreryError) as exists:
        files.upload(b"again", "py/table.csv", hub=alice)
    assert exists.value.status == 409
    files.upload(b"replaced", "py/table.csv", overwrite=True, hub=alice)
    assert files.download("py/table.csv", hub=alice) == b"replaced"
    files.delete("py", hub=alice)
    assert "py" not in [e["name"] for e in files.list_folder(hub=alice)]


def test_large_upload_goes_in_resumable_chunks(alice):
    data = bytes(range(256)) * 1000
    entry = files.upload(data, "chunked.bin", chunk_bytes=64 * 1024, hub=alice)
    assert entry["size"] == len(data)
    assert files.download("chunked.bin", hub=alice) == data


def test_share_read_only_then_unshare(alice, bob):
    files.create_volume("pyshared", hub=alice)
    files.upload(b"for bob", "note.txt", volume="pyshared", hub=alice)
    with pytest.raises(orrery.OrreryError) as hidden:
        files.list_folder(volume="Storage/alice/pyshared", hub=bob)
    assert hidden.value.status == 404
    files.share("pyshared", user="bob", access="read", hub=alice)
    assert files.shares("pyshared", hub=alice) == [
        {"user": "bob", "group": None, "access": "read", "may_grant": False}
    ]
    assert files.download("note.txt", volume="Storage/alice/pyshared", hub=bob) == b"for bob"
    with pytest.raises(orrery.OrreryError) as read_only:
        files.upload(b"x", "bob.txt", volume="Storage/alice/pyshared", hub=bob)
    assert read_only.value.status == 403
    files.unshare("pyshared", user="bob", hub=alice)
    with pytest.raises(orrery.OrreryError) as gone:
        files.list_folder(volume="Storage/alice/pyshared", hub=bob)
    assert gone.value.status == 404
    files.delete_volume("pyshared", hub=alice)
    assert "pyshared" not in [v["volume"] for v in files.volumes(hub=alice)]


def test_escapes_are_refused(alice):
    for bad in ["../x", "/etc/passwd", "a/../../b", "caf\u0065\u0301"]:
        with pytest.raises(orrery.OrreryError) as refused:
            files.upload(b"x", bad, hub=alice)
        assert refused.value.status == 400
