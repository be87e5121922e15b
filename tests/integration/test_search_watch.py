"""``search.watch`` (the MCP server's setting): with the operating system's change feed a
search skips the per-file stat pass while nothing changed, and still sees every edit at
once — real files, real inotify, real SQLite."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import trifecta
from trifecta.adapters.filesystem.changes import (
    LOCAL_FILESYSTEMS,
    InotifyChangeFeed,
    filesystem_type,
    make_change_feed,
    mounted_inside,
)
from trifecta.application.packs.freshness import WatchedFreshness


def make_segment(root: Path) -> Path:
    (root / "pkg" / "sub").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "alpha.py").write_text("def alpha_function():\n    return 1\n")
    (root / "pkg" / "sub" / "beta.py").write_text("def beta_function():\n    return 2\n")
    return root


def watched_of(seg: trifecta.Segment) -> WatchedFreshness:
    watched = seg._root.packs.watched()  # the one the segment's searches use
    assert isinstance(watched, WatchedFreshness)
    return watched


def test_watched_searches_skip_the_stat_pass_and_see_every_edit_at_once(tmp_path: Path) -> None:
    root = make_segment(tmp_path / "seg")
    with trifecta.open_segment(root, telemetry={"level": "off"}, search={"watch": True}) as seg:
        seg.build()
        assert not seg.search("alpha_function", limit=3).freshness.stale
        watched = watched_of(seg)
        for _ in range(3):
            assert not seg.search("alpha_function", limit=3).freshness.stale
        assert watched.reused == 3  # nothing changed: no stat pass

        # an edit in place (same directory, no rename): seen by the very next search
        with (root / "pkg" / "sub" / "beta.py").open("a") as f:
            f.write("\ndef gamma_function():\n    return 3\n")
        seen = seg.search("gamma_function", limit=3, sync=False)
        assert seen.freshness.changed == ("pkg/sub/beta.py",)
        synced = seg.search("gamma_function", limit=3, sync=True)
        assert synced.hits and synced.hits[0].chunk.id == "pkg/sub/beta.py#gamma_function"

        # a new file in a new directory, then a deletion
        (root / "pkg" / "new").mkdir()
        (root / "pkg" / "new" / "delta.py").write_text("def delta_function():\n    return 4\n")
        assert seg.search("delta_function", limit=3, sync=False).freshness.new == (
            "pkg/new/delta.py",
        )
        seg.search("delta_function", limit=3, sync=True)
        (root / "pkg" / "alpha.py").unlink()
        assert seg.search("delta_function", limit=3, sync=False).freshness.deleted == (
            "pkg/alpha.py",
        )
        seg.search("delta_function", limit=3, sync=True)
        reused = watched.reused
        assert not seg.search("delta_function", limit=3).freshness.stale
        # the new directory is watched too: an edit there is seen at once
        (root / "pkg" / "new" / "delta.py").write_text("def epsilon_function():\n    return 5\n")
        assert seg.search("epsilon_function", limit=3, sync=False).freshness.changed == (
            "pkg/new/delta.py",
        )
        assert watched.reused == reused + 1


def test_without_the_setting_no_feed_is_made(tmp_path: Path) -> None:
    root = make_segment(tmp_path / "seg")
    with trifecta.open_segment(root, telemetry={"level": "off"}) as seg:
        seg.build()
        seg.search("alpha_function", limit=3)
        assert seg._root.packs.watched() is None


def test_the_feed_reports_events_until_drained_and_a_removed_directory(tmp_path: Path) -> None:
    root = make_segment(tmp_path / "seg")
    feed = make_change_feed(root)
    assert isinstance(feed, InotifyChangeFeed)
    try:
        assert feed.changed()  # not armed: never trusted
        assert feed.arm(["pkg", "pkg/sub"])
        assert not feed.changed()
        (root / "pkg" / "sub" / "beta.py").write_text("x = 1\n")
        assert feed.changed() and not feed.changed()  # drained
        (root / "pkg" / "sub" / "beta.py").unlink()
        (root / "pkg" / "sub").rmdir()
        assert feed.changed()
        assert not feed.arm(["pkg", "pkg/sub"])  # the directory is gone: not trusted
        assert feed.changed()
    finally:
        feed.close()
    assert feed.changed()  # a closed feed is never trusted


MOUNTINFO = r"""22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
40 27 0:35 / /home/me/My\040Code rw,relatime shared:5 - fuse.sshfs me@host:/src rw
41 27 0:36 / /srv/nfs rw,relatime - nfs4 host:/export rw,vers=4.2
42 41 0:37 / /srv/nfs/scratch rw,relatime - tmpfs tmpfs rw
"""


def test_the_file_system_of_a_path_is_its_deepest_mount() -> None:
    assert filesystem_type("/work/seg", MOUNTINFO) == "ext4"
    assert filesystem_type("/", MOUNTINFO) == "ext4"
    assert filesystem_type("/home/me/My Code/pkg", MOUNTINFO) == "fuse.sshfs"  # \040: space
    assert filesystem_type("/home/me/My Codex", MOUNTINFO) == "ext4"  # a sibling, not inside
    assert filesystem_type("/srv/nfs/project", MOUNTINFO) == "nfs4"
    assert filesystem_type("/srv/nfs/scratch/x", MOUNTINFO) == "tmpfs"  # mounted inside it
    assert filesystem_type("/anything", "garbage line\n") is None
    # escapes: \134 is a backslash, decoded last so a literal "\040" in a name stays
    assert filesystem_type("/mnt/a\\040b/x", "9 1 0:1 / /mnt/a\\134040b rw - nfs h:/ rw") == "nfs"
    # a segment that holds a mount of another kind is not on one file system
    assert mounted_inside("/", MOUNTINFO) == ["proc", "fuse.sshfs", "nfs4", "tmpfs"]
    assert mounted_inside("/srv/nfs", MOUNTINFO) == ["tmpfs"]
    assert mounted_inside("/home/me", MOUNTINFO) == ["fuse.sshfs"]
    assert mounted_inside("/work/seg", MOUNTINFO) == []


def test_a_feed_is_complete_only_on_a_local_file_system(tmp_path: Path) -> None:
    witness = _findmnt_type(tmp_path)
    with open("/proc/self/mountinfo", encoding="utf-8") as handle:
        assert filesystem_type(os.path.realpath(tmp_path), handle.read()) == witness
    feed = make_change_feed(tmp_path)
    assert feed is not None
    try:
        assert feed.complete is (witness in LOCAL_FILESYSTEMS)
    finally:
        feed.close()
    assert "nfs4" not in LOCAL_FILESYSTEMS and "fuse.sshfs" not in LOCAL_FILESYSTEMS


def test_a_symlink_in_a_watched_directory_makes_the_feed_incomplete(tmp_path: Path) -> None:
    # the target's directory may be one no watch sees (an ignored folder): a write there
    # raises no event, so a quiet feed must not vouch for long
    root = make_segment(tmp_path / "seg")
    (tmp_path / "seg" / "shared").mkdir()
    (tmp_path / "seg" / "shared" / "gamma.py").write_text("GAMMA = 1\n")
    feed = make_change_feed(root)
    assert feed is not None
    try:
        assert feed.arm(["pkg", "pkg/sub"])
        local = feed.complete
        (root / "pkg" / "gamma.py").symlink_to(root / "shared" / "gamma.py")
        assert feed.changed()  # the new entry, reported
        assert not feed.complete
        assert local is _on_local_disk(tmp_path)  # before the link: as its file system says
    finally:
        feed.close()
    again = make_change_feed(root)  # a symlink already there when the directory is armed
    assert again is not None
    try:
        assert again.arm(["pkg", "pkg/sub"]) and not again.complete
    finally:
        again.close()


def _findmnt_type(path: Path) -> str:
    """The file system type of ``path`` as findmnt (util-linux) sees it: the independent
    witness of what a segment sits on."""

    return subprocess.run(
        ["findmnt", "-n", "-o", "FSTYPE", "--target", os.fspath(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def _on_local_disk(path: Path) -> bool:
    return _findmnt_type(path) in LOCAL_FILESYSTEMS
