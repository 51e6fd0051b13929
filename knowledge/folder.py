"""Listing a knowledge folder: the files the bot may read, and every entry it refuses with the reason.

The loader and the indexer's change fingerprint both list the folder through `list_folder`, so what is
read and what is watched for changes cannot disagree. Every path is resolved: a symlink is followed
only when its target stays inside the knowledge folder (and is not hidden), so a link to /etc/passwd
or to an application's `.env` is refused rather than published to every seller. Named pipes, sockets
and devices are refused before anything opens them (opening a FIFO blocks the indexer forever).
A followed link may not cross from one part of the layout into another (`programs/x.md ->
../partners/P-2.yaml` would publish a profile's confidential notes as a document, `-> ../access.yaml`
the group members): a file is read as what its own folder says it is. Broken links, symlink loops and
unreadable folders are reported too. Hidden entries (`.git`,
`.DS_Store`) are not knowledge and are passed over silently, as before.

Between listing and reading, someone who can write to the folder could swap a checked file for a link
or a FIFO: files are read through their resolved path, and `open_regular` (structured files and tables)
opens without following a final symlink, without blocking, and refuses anything but a regular file.
Left open: a folder higher up swapped for a link in that window, and hard links, which are
indistinguishable from the file itself.
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from knowledge.records import FileIssue

OUTSIDE = "symlink points outside the knowledge folder; not read"
TO_HIDDEN = "symlink points to a hidden file or folder; not read"
BROKEN = "broken symlink (its target does not exist)"
LOOP = "symlink loop"
# the parts of the layout (see the knowledge contract): each reads its files its own way, with its own audience
LAYOUT_PARTS = frozenset({"partners", "solution_maps", "programs", "opportunities", "referrals", "access.yaml",
                          "access.yml"})
_SPECIAL = {stat.S_IFIFO: "a named pipe (FIFO)", stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a character device",
            stat.S_IFBLK: "a block device"}


@dataclass(frozen=True)
class FolderFile:
    rel: str        # as it appears in the folder (the link's path for a followed symlink), forward slashes
    location: str   # the resolved file to read: always inside the knowledge folder

    @property
    def path(self) -> Path:
        """`location` as a Path, made when asked for: a listing of 50,000 profiles is watched (indexer.fingerprint)
        far more often than it is read, and making every Path costs more than listing the folder."""
        return Path(self.location)


@dataclass
class FolderListing:
    root: Path
    files: list[FolderFile] = field(default_factory=list)
    refused: list[FileIssue] = field(default_factory=list)
    symlinks: int = 0       # symlinks met while listing: without any, no file can be reached twice


def list_folder(root: Path) -> FolderListing:
    """Every readable regular file under root (sorted by rel), and every refused entry with its reason."""
    real_root = Path(os.path.realpath(root))
    listing = FolderListing(real_root)
    followed: set[str] = set()      # real folders already walked through a symlink: each once
    _walk(real_root, "", listing, (str(real_root),), followed)
    listing.files = _read_once(listing)
    listing.refused.sort(key=lambda i: i.path)
    return listing


def _read_once(listing: FolderListing) -> list[FolderFile]:
    """One file reached twice in one part of the layout (`programs/current -> fy27`) is read once: under
    its own path when that is one of them, else under the first by path; the other is reported."""
    if not listing.symlinks:
        return sorted(listing.files, key=lambda f: f.rel)
    groups: dict[tuple[str, str], list[FolderFile]] = {}
    for file in sorted(listing.files, key=lambda f: f.rel):
        groups.setdefault((_part(file.rel), file.location), []).append(file)
    kept: list[FolderFile] = []
    for (_, path), files in groups.items():
        first = files[0]
        if len(files) > 1:
            own = Path(path).relative_to(listing.root).as_posix()
            first = next((f for f in files if f.rel == own), first)
            listing.refused.extend(FileIssue(f.rel, f"the same file as {first.rel} (through a symlink); read once")
                                   for f in files if f is not first)
        kept.append(first)
    return sorted(kept, key=lambda f: f.rel)


def _walk(folder: Path, prefix: str, listing: FolderListing, ancestors: tuple[str, ...], followed: set[str]) -> None:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        listing.refused.append(FileIssue(prefix.rstrip("/") or ".", f"folder not readable ({_why(exc)})"))
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue                # hidden files and folders (.DS_Store, .git, .env) are not knowledge
        rel = prefix + entry.name
        try:
            if entry.is_symlink():
                _symlink(Path(entry.path), rel, listing, ancestors, followed)
            elif entry.is_dir(follow_symlinks=False):
                _walk(Path(entry.path), rel + "/", listing, (*ancestors, entry.path), followed)
            elif entry.is_file(follow_symlinks=False):      # from the directory entry: no system call
                listing.files.append(FolderFile(rel, entry.path))
            else:
                _file(Path(entry.path), rel, entry.stat(follow_symlinks=False).st_mode, listing)
        except OSError as exc:
            listing.refused.append(FileIssue(rel, f"not readable ({_why(exc)})"))


def _symlink(link: Path, rel: str, listing: FolderListing, ancestors: tuple[str, ...], followed: set[str]) -> None:
    listing.symlinks += 1
    try:
        target = Path(os.path.realpath(link, strict=True))
    except OSError as exc:
        listing.refused.append(FileIssue(rel, LOOP if "loop" in str(exc).lower() or exc.errno == 40 else BROKEN))
        return
    inside = _inside(target, listing.root)
    if inside is None:
        listing.refused.append(FileIssue(rel, OUTSIDE))
        return
    if any(part.startswith(".") for part in inside.parts):
        listing.refused.append(FileIssue(rel, TO_HIDDEN))
        return
    source, into = _part(rel), _part(inside.as_posix())
    if into in LAYOUT_PARTS and into != source:
        listing.refused.append(FileIssue(rel, f"symlink crosses from {_label(source)} into {_label(into)}; not read "
                                              "(a file is read as what its own folder says it is)"))
        return
    mode = target.stat().st_mode
    if stat.S_ISDIR(mode):
        if str(target) in ancestors:
            listing.refused.append(FileIssue(rel, f"{LOOP}: it points back to "
                                                  f"{inside.as_posix() if inside.parts else 'the knowledge folder'}"))
        elif str(target) in followed:
            listing.refused.append(FileIssue(rel, "symlink to a folder already read through another symlink; "
                                                  "read once"))
        else:
            followed.add(str(target))
            _walk(target, rel + "/", listing, (*ancestors, str(target)), followed)
        return
    _file(target, rel, mode, listing)


def _file(path: Path, rel: str, mode: int, listing: FolderListing) -> None:
    kind = _SPECIAL.get(stat.S_IFMT(mode))
    if kind is not None:
        listing.refused.append(FileIssue(rel, f"{kind}, not a regular file; not read"))
    elif not stat.S_ISREG(mode):
        listing.refused.append(FileIssue(rel, "not a regular file; not read"))
    else:
        listing.files.append(FolderFile(rel, str(path)))


class NotRegularFileError(OSError):
    """What was listed as a regular file is not one any more (swapped for a link, a FIFO, ...)."""


def open_regular(path: Path) -> BinaryIO:
    """Open a listed file for reading: a final symlink is not followed, a FIFO does not block."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == 40:     # ELOOP: the final component became a symlink
            raise NotRegularFileError(f"{path.name} became a symlink after it was listed; not read") from exc
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise NotRegularFileError(f"{path.name} is no longer a regular file; not read")
    return os.fdopen(fd, "rb")


def _part(rel: str) -> str:
    return rel.split("/", 1)[0] if "/" in rel else rel


def _label(part: str) -> str:
    return part if part in ("access.yaml", "access.yml") or part not in LAYOUT_PARTS else part + "/"


def _inside(target: Path, root: Path) -> Path | None:
    """target relative to root when it is root or below it, else None (both already resolved)."""
    try:
        return target.relative_to(root)
    except ValueError:
        return None


def _why(exc: OSError) -> str:
    return (exc.strerror or type(exc).__name__).lower()
