"""Finding and loading the library, its version, errors, and its log lines (the logging module's
``libscore`` logger, and the deprecated log callback)."""

import gc
import logging
import weakref
from pathlib import Path

import pytest

import libscore
from libscore import _library, log
from conftest import make_policy


def set_log_callback(*arguments):
    """libscore.set_log_callback, which must warn that it is deprecated."""
    with pytest.deprecated_call():
        libscore.set_log_callback(*arguments)


def log_lines(tmp_path):
    """Makes the library log: an INFO line (a save) and an ERROR line (a failed load)."""
    with make_policy() as policy:
        policy.save(tmp_path / "model")
    with pytest.raises(libscore.ScoreError) as caught:
        libscore.Policy.load(tmp_path / "missing")
    return caught.value.message


def test_version_matches_the_bindings():
    major, minor = libscore.EXPECTED_VERSION
    text = libscore.version()
    assert text.split(".")[:2] == [str(major), str(minor)]
    number = libscore.version_number()
    assert (number // 10000, number // 100 % 100) == (major, minor)
    assert text == f"{number // 10000}.{number // 100 % 100}.{number % 100}"


def test_package_and_pyproject_carry_the_library_version():
    # score.h is the source: the C suite checks the library against its macros, this test checks
    # the package's __version__ and pyproject.toml against the library.
    assert libscore.__version__ == libscore.version()
    pyproject = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    project = pyproject.split("[project]", 1)[1].split("\n[", 1)[0]
    declared = [line.split("=", 1)[1].strip().strip('"') for line in project.splitlines()
                if line.startswith("version")]
    assert declared == [libscore.version()]


def test_environment_variable_names_a_folder_or_a_file(monkeypatch, tmp_path):
    monkeypatch.setenv(_library.ENVIRONMENT_VARIABLE, str(tmp_path))
    assert _library.candidate_paths() == [tmp_path / _library.LIBRARY_NAME]
    file = tmp_path / "custom.so"
    monkeypatch.setenv(_library.ENVIRONMENT_VARIABLE, str(file))
    assert _library.candidate_paths() == [file]


def test_missing_library_error_lists_where_it_looked(monkeypatch, tmp_path):
    monkeypatch.setenv(_library.ENVIRONMENT_VARIABLE, str(tmp_path))
    with pytest.raises(libscore.LibraryNotFoundError) as caught:
        _library._find()
    assert str(tmp_path / _library.LIBRARY_NAME) in str(caught.value)
    assert _library.ENVIRONMENT_VARIABLE in str(caught.value)


def test_default_search_covers_package_folder_and_build_folders(monkeypatch):
    monkeypatch.delenv(_library.ENVIRONMENT_VARIABLE, raising=False)
    paths = _library.candidate_paths()
    assert paths[0] == Path(libscore.__file__).resolve().parent / _library.LIBRARY_NAME
    tails = {path.parts[-3:] for path in paths[1:]}
    assert (".build", "release", _library.LIBRARY_NAME) in tails
    assert (".build", "debug", _library.LIBRARY_NAME) in tails


def test_errors_carry_status_and_message(tmp_path):
    with pytest.raises(libscore.ScoreError) as caught:
        libscore.Policy.load(tmp_path / "missing")
    assert caught.value.status in (-2, -3)
    assert caught.value.message
    assert caught.value.message in str(caught.value)


def test_library_lines_go_to_the_libscore_logger(tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger="libscore")
    error = log_lines(tmp_path)
    records = [(record.name, record.levelno, record.getMessage()) for record in caplog.records]
    assert any(name == "libscore" and level == logging.INFO and str(tmp_path / "model") in message
               for name, level, message in records), records  # the save's line
    assert ("libscore", logging.ERROR, error) in records


def test_the_logger_level_filters_library_lines(tmp_path, caplog):
    caplog.set_level(logging.ERROR, logger="libscore")
    error = log_lines(tmp_path)
    assert [(record.levelno, record.getMessage()) for record in caplog.records] == [(logging.ERROR, error)]


@pytest.mark.parametrize("level, expected", [
    (libscore.LogLevel.DEBUG, logging.DEBUG), (libscore.LogLevel.INFO, logging.INFO),
    (libscore.LogLevel.WARN, logging.WARNING), (libscore.LogLevel.ERROR, logging.ERROR),
])
def test_each_library_level_maps_to_a_logging_level(caplog, level, expected):
    caplog.set_level(logging.DEBUG, logger="libscore")
    log._CALLBACK(level, f"a line at {level.name}".encode(), None)  # as the library calls it
    assert [(record.name, record.levelno, record.getMessage()) for record in caplog.records] == [
        ("libscore", expected, f"a line at {level.name}")]


def test_the_logger_prints_nothing_unless_configured():
    assert any(isinstance(handler, logging.NullHandler) for handler in logging.getLogger("libscore").handlers)


def test_log_callback_receives_lines(tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger="libscore")
    lines = []
    set_log_callback(lambda level, message: lines.append((level, message)), "debug")
    try:
        log_lines(tmp_path)
    finally:
        set_log_callback(None)
    assert not [record for record in caplog.records if record.name == "libscore"]
    assert lines, "the library logged nothing on save or on a failed load"
    assert all(isinstance(level, libscore.LogLevel) and isinstance(text, str) for level, text in lines)
    assert all("\n" not in text for _, text in lines)


def test_log_callback_level_filters_and_errors_in_it_are_contained(tmp_path, capsys):
    lines = []

    def failing(level, message):
        lines.append(level)
        raise RuntimeError("a broken log handler")

    set_log_callback(failing, libscore.LogLevel.ERROR)
    try:
        log_lines(tmp_path)  # its INFO line is filtered out
    finally:
        set_log_callback(None)
    assert lines and all(level >= libscore.LogLevel.ERROR for level in lines)
    assert "a broken log handler" in capsys.readouterr().err


def test_log_callback_arguments_are_checked():
    with pytest.raises(ValueError):
        set_log_callback(print, "loud")
    with pytest.raises(TypeError):
        set_log_callback("print")
    with pytest.raises(libscore.InvalidArgumentError):
        set_log_callback(print, 7)


def test_removing_the_log_callback_sends_lines_to_the_logger_again(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="libscore")
    set_log_callback(lambda level, message: None)
    set_log_callback(None)
    log_lines(tmp_path)
    assert {record.levelno for record in caplog.records if record.name == "libscore"} == {logging.INFO, logging.ERROR}


def test_replaced_log_callbacks_are_released(tmp_path):
    lines = []

    def make_function():
        return lambda level, message: lines.append(message)

    first = make_function()
    replaced = weakref.ref(first)
    set_log_callback(first)
    del first
    for _ in range(50):
        set_log_callback(make_function())
    last = make_function()
    set_log_callback(last)
    try:
        gc.collect()
        assert replaced() is None
        log_lines(tmp_path)
        assert lines
    finally:
        set_log_callback(None)
