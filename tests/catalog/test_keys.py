"""The anonymisation key of a storage root: key file, fingerprint record, rotation, release rule."""

import json
import multiprocessing
import os
import stat

import pytest

from anonymisation.operators import AnonymisationKeyError, check_key
from catalog.keys import (
    PREVIOUS_KEY_REASON,
    RECORD,
    KeyMismatchError,
    RootKeyError,
    key_file_path,
    key_from_env,
    key_status,
    previous_key_reason,
    read_record,
    recorded_key_id,
    root_key,
    rotate,
)
from catalog.settings import KEY_ENV
from catalog.storage import Storage

USER_KEY = "a-user-chosen-key-of-enough-length"
OTHER_KEY = "another-user-chosen-key-0123456789"


@pytest.fixture
def storage(tmp_path):
    return Storage(str(tmp_path / "root"))


def resolve(storage, env=None):
    return root_key(storage, check=check_key, env=env or {})


def test_a_local_root_generates_its_key_file_once_owner_only(storage):
    key = resolve(storage)
    path = key_file_path(storage)
    assert key.origin == "file" and key.key_file == str(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    text = path.read_text()
    assert text.endswith("\n") and len(bytes.fromhex(text.strip())) == 32
    assert key.secret == text.strip().encode()  # the file holds the key as the variable would
    assert key.notice and str(path) in key.notice and "back it up" in key.notice
    assert text.strip() not in key.notice + repr(key)

    again = resolve(storage)
    assert (again.secret, again.key_id, again.notice) == (key.secret, key.key_id, None)
    # the variable holding the file's contents is the same key
    assert resolve(storage, {KEY_ENV: text.strip()}).key_id == key.key_id


def _resolve_in_process(root, barrier, results):
    barrier.wait()
    key = root_key(Storage(root), check=check_key, env={})
    results.put((key.secret.decode(), key.key_id, key.notice is not None))


def test_two_processes_on_a_fresh_root_end_up_with_one_key(tmp_path):
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(4), context.Queue()
    root = str(tmp_path / "root")
    processes = [context.Process(target=_resolve_in_process, args=(root, barrier, results)) for _ in range(4)]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    assert len({secret for secret, _, _ in outcomes}) == 1
    assert len({key_id for _, key_id, _ in outcomes}) == 1
    assert sum(generated for *_, generated in outcomes) == 1  # one notice: one process created the file
    assert [p.name for p in (tmp_path / "root" / "secrets").iterdir()] == ["anonymisation.key"]


def test_a_key_file_others_can_read_is_refused_with_the_fix(storage):
    resolve(storage)
    path = key_file_path(storage)
    os.chmod(path, 0o644)
    with pytest.raises(RootKeyError) as excinfo:
        resolve(storage)
    message = str(excinfo.value)
    assert "\n" not in message and f"chmod 600 {path}" in message and "0644" in message
    assert path.read_text().strip() not in message


def test_an_empty_or_short_key_file_is_refused(storage):
    path = key_file_path(storage)
    path.parent.mkdir(parents=True)
    path.write_text("\n")
    os.chmod(path, 0o600)
    with pytest.raises(RootKeyError, match="is empty"):
        resolve(storage)
    path.write_text("short\n")
    with pytest.raises(AnonymisationKeyError, match="must hold at least 16 bytes"):
        resolve(storage)
    assert read_record(storage) is None  # nothing recorded for a rejected key


def test_an_s3_root_needs_the_variable(tmp_path):
    storage = Storage("s3://bucket/prefix", endpoint_url="http://127.0.0.1:9")  # never contacted
    with pytest.raises(RootKeyError) as excinfo:
        resolve(storage)
    assert str(excinfo.value) == f"no anonymisation key: set {KEY_ENV} (an S3 storage root keeps no key file)"
    assert key_file_path(storage) is None


def test_the_record_holds_a_salted_slow_fingerprint_and_never_the_key(storage, tmp_path):
    key = resolve(storage, {KEY_ENV: USER_KEY})
    assert key.origin == "environment" and key.key_file is None and key.notice is None
    assert not key_file_path(storage).exists()  # the variable wins: no key file is generated
    record = read_record(storage)
    raw = (tmp_path / "root" / RECORD).read_text()
    assert USER_KEY not in raw and USER_KEY.encode().hex() not in raw
    current = record["current"]
    assert current["kdf"]["name"] == "scrypt" and current["kdf"]["n"] >= 2**14
    assert len(bytes.fromhex(current["salt"])) == 16
    assert current["key_id"] == key.key_id == current["fingerprint"][:12] == recorded_key_id(storage)
    assert record["history"] == [] and record["rotated_at"] is None
    # the same key on another root: another salt, so another fingerprint
    other = Storage(str(tmp_path / "other"))
    assert resolve(other, {KEY_ENV: USER_KEY}).key_id != key.key_id


def test_another_key_is_refused_with_one_line_that_explains_the_choice(storage):
    first = resolve(storage, {KEY_ENV: USER_KEY})
    with pytest.raises(KeyMismatchError) as excinfo:
        resolve(storage, {KEY_ENV: OTHER_KEY})
    message = str(excinfo.value)
    assert "\n" not in message
    assert message.startswith(f"the anonymisation key in {KEY_ENV} differs from the one this storage root was")
    assert f"(key {first.key_id}, recorded " in message
    assert f"set {KEY_ENV} to that key, or rotate explicitly with `corpusfabriek key rotate --yes`" in message
    assert OTHER_KEY not in message and USER_KEY not in message
    assert read_record(storage)["current"]["fingerprint"] not in message


def test_a_recorded_root_whose_key_file_is_gone_gets_no_new_key(storage):
    first = resolve(storage)
    key_file_path(storage).unlink()
    with pytest.raises(RootKeyError) as excinfo:
        resolve(storage)
    assert f"key {first.key_id}" in str(excinfo.value) and "restore the key file" in str(excinfo.value)
    assert not key_file_path(storage).exists()
    assert key_status(storage, check=check_key, env={})["problem"] == str(excinfo.value)


def test_a_root_anonymised_before_keys_were_recorded_gets_no_new_key(storage):
    storage.write_json("anonymised/bron/anonymised.json", {"source_id": "bron"})
    with pytest.raises(RootKeyError, match="holds anonymised sources but no record"):
        resolve(storage)
    assert not key_file_path(storage).exists()
    assert "no record" in key_status(storage, check=check_key, env={})["problem"]
    assert resolve(storage, {KEY_ENV: USER_KEY}).origin == "environment"  # the old key, given explicitly


def test_rotation_generates_a_new_key_file_and_keeps_the_old_one(storage):
    old = resolve(storage)
    rotation = rotate(storage, check=check_key, env={})
    path = key_file_path(storage)
    assert rotation.previous_key_id == old.key_id and rotation.key_id != old.key_id
    assert rotation.key_file == str(path)
    kept = path.parent / os.path.basename(rotation.retired_key_file)
    assert kept.read_bytes().strip() == old.secret and stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert kept.name.startswith("anonymisation.key.") and kept.name.endswith(".old")
    new = resolve(storage)
    assert new.key_id == rotation.key_id and new.secret != old.secret and new.notice is None

    record = read_record(storage)
    (earlier,) = record["history"]
    assert earlier["key_id"] == old.key_id and earlier["until"] == record["rotated_at"]
    assert earlier["retired_key_file"] == f"secrets/{kept.name}"
    # the old key is refused now, and the message says it is the retired one
    with pytest.raises(KeyMismatchError, match=f"earlier key {old.key_id}, retired "):
        resolve(storage, {KEY_ENV: old.secret.decode()})


def test_rotation_to_the_variable_retires_the_key_file(storage):
    old = resolve(storage)
    with pytest.raises(RootKeyError, match="holds this root's current key"):
        rotate(storage, check=check_key, env={KEY_ENV: old.secret.decode()})
    rotation = rotate(storage, check=check_key, env={KEY_ENV: USER_KEY})
    assert rotation.origin == "environment" and rotation.key_file is None
    assert not key_file_path(storage).exists() and rotation.retired_key_file
    assert resolve(storage, {KEY_ENV: USER_KEY}).key_id == rotation.key_id
    with pytest.raises(RootKeyError, match="neither in"):
        resolve(storage)  # no new key is generated behind the variable's back


def test_rotation_on_s3_needs_the_new_key_in_the_variable():
    storage = Storage("s3://bucket/prefix", endpoint_url="http://127.0.0.1:9")
    with pytest.raises(RootKeyError, match=f"set {KEY_ENV} to it, then run `corpusfabriek key rotate --yes`"):
        rotate(storage, check=check_key, env={})


def test_key_from_env_for_commands_without_a_root():
    assert key_from_env(check=check_key, env={KEY_ENV: USER_KEY}) == USER_KEY.encode()
    with pytest.raises(RootKeyError, match=f"{KEY_ENV} is not set"):
        key_from_env(check=check_key, env={})
    with pytest.raises(AnonymisationKeyError, match=f"environment variable {KEY_ENV} must hold") as excinfo:
        key_from_env(check=check_key, env={KEY_ENV: "tooshort"})
    assert "tooshort" not in str(excinfo.value)


@pytest.mark.parametrize(
    ("report", "reason"),
    [
        ({"key_id": "aaa"}, None),
        ({"key_id": "old"}, PREVIOUS_KEY_REASON),
        ({"key_id": None}, PREVIOUS_KEY_REASON),  # no key recorded: every policy needs one now
        ({}, PREVIOUS_KEY_REASON),  # anonymised before key ids were recorded
    ],
)
def test_previous_key_reason(report, reason):
    assert previous_key_reason(report, "aaa") == reason


def test_key_status_changes_nothing_and_shows_no_key(storage):
    status = key_status(storage, check=check_key, env={})
    assert status["origin"] is None and status["recorded"] is None and not key_file_path(storage).exists()
    key = resolve(storage)
    storage.write_json("anonymised/a/anonymised.json", {"source_id": "a", "key_id": key.key_id})
    storage.write_json("anonymised/b/anonymised.json", {"source_id": "b", "key_id": "0123456789ab"})
    storage.write_json("anonymised/c/anonymised.json", {"source_id": "c", "key_id": None})
    status = key_status(storage, check=check_key, env={})
    assert status["origin"] == "file" and status["key_file_mode"] == "0600"
    assert status["matches_record"] is True and status["key_id"] == key.key_id
    assert status["stale_sources"] == ["b"]
    status = key_status(storage, check=check_key, env={KEY_ENV: OTHER_KEY})
    assert status["origin"] == "environment" and status["matches_record"] is False
    assert key.secret.decode() not in json.dumps(status) and OTHER_KEY not in json.dumps(status)
    assert read_record(storage)["current"]["fingerprint"] not in json.dumps(status)
