//! The bytes recovery cuts from a torn tail, kept in a quarantine file beside the segment.

use std::path::{Path, PathBuf};

use super::fs::{self, FileSystem, OpenMode};
use super::report::TornTail;
use super::TEMP_SUFFIX;

/// Copies the bytes of `tail` (from its offset to the end of the segment at `segment_path`)
/// to a new quarantine file beside the segment, `<segment>.cut-<offset>-<n>`, and returns its
/// path. Written under a temporary name, synced and renamed (then the directory synced), so a
/// crash leaves either no quarantine file (and the segment uncut: the next open copies again)
/// or a complete one.
pub(super) fn quarantine_tail(
    fs: &dyn FileSystem,
    dir: &Path,
    segment: &dyn fs::LogFile,
    segment_path: &Path,
    tail: &TornTail,
    sync: bool,
) -> std::io::Result<PathBuf> {
    let segment_name = segment_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut n = 1u64;
    let path = loop {
        let candidate = dir.join(format!("{segment_name}.cut-{}-{n}", tail.offset));
        match fs.open(&candidate, OpenMode::Read) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => break candidate,
            _ => n += 1,
        }
    };
    let mut temp_name = path.as_os_str().to_owned();
    temp_name.push(TEMP_SUFFIX);
    let temp = PathBuf::from(temp_name);
    let file = fs.open(&temp, OpenMode::CreateNew)?;
    let copied = copy_range(segment, &*file, tail.offset, tail.bytes_removed)
        .and_then(|()| if sync { file.sync_data() } else { Ok(()) })
        .and_then(|()| fs.rename(&temp, &path));
    if let Err(e) = copied {
        // Best effort: the next open removes leftover temporary files too.
        let _ = fs.remove_file(&temp);
        return Err(e);
    }
    if sync {
        fs.sync_dir(dir)?;
    }
    Ok(path)
}

/// Copies `len` bytes of `from`, starting at `offset`, to the start of `to`.
fn copy_range(
    from: &dyn fs::LogFile,
    to: &dyn fs::LogFile,
    offset: u64,
    len: u64,
) -> std::io::Result<()> {
    let mut buf = vec![0u8; usize::try_from(len.min(1 << 20)).unwrap_or(1 << 20)];
    let mut done = 0u64;
    while done < len {
        let want = usize::try_from(len - done).map_or(buf.len(), |left| left.min(buf.len()));
        let read = fs::read_fully_at(from, &mut buf[..want], offset + done)?;
        if read == 0 {
            // The segment is shorter than when it was scanned: nothing more to keep.
            break;
        }
        fs::write_all_at(to, &buf[..read], done)?;
        done += read as u64;
    }
    Ok(())
}
