//! Where master keys come from. [`MasterKeyProvider`] hands out master key
//! versions; the newest wraps new tenant keys, older ones stay readable
//! until `clinicos keys rotate` has re-wrapped everything under the newest.
//!
//! - [`FileMasterKey`]: 32 raw bytes per version in files outside the data
//!   directory (`master.key` is version 1, `master.key.v2` version 2, ...),
//!   created with mode 0600; a file readable by group or others is refused.
//! - [`EnvMasterKey`]: base64 from `CLINICOS_MASTER_KEY` (`<base64>` for
//!   version 1, or `1:<base64>,2:<base64>`); cannot rotate by itself.
//! - A KMS provider later implements the same trait.

use crate::{CryptoError, Key32};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::RwLock;
use zeroize::Zeroizing;

/// A source of master key versions.
pub trait MasterKeyProvider: Send + Sync {
    /// The version that wraps new and re-wrapped tenant keys.
    fn current_version(&self) -> u32;
    /// A master key by version.
    fn key(&self, version: u32) -> Result<Key32, CryptoError>;
    /// Make a new version and make it current.
    fn rotate(&self) -> Result<u32, CryptoError>;
    /// Where the keys come from, for messages (never key bytes).
    fn describe(&self) -> String;
}

/// Versions held in memory.
struct Ring(RwLock<BTreeMap<u32, Key32>>);

impl Ring {
    fn current(&self) -> u32 {
        self.0
            .read()
            .ok()
            .and_then(|m| m.keys().next_back().copied())
            .unwrap_or(0)
    }
    fn get(&self, v: u32) -> Result<Key32, CryptoError> {
        self.0
            .read()
            .ok()
            .and_then(|m| m.get(&v).cloned())
            .ok_or(CryptoError::MissingKeyVersion(v))
    }
}

/// Master keys from `CLINICOS_MASTER_KEY`.
pub struct EnvMasterKey(Ring);

impl EnvMasterKey {
    /// Parse `<base64>` (version 1) or `1:<base64>,2:<base64>,...`.
    pub fn parse(text: &str) -> Result<EnvMasterKey, CryptoError> {
        let mut map = BTreeMap::new();
        for (i, part) in text.split(',').enumerate() {
            let (v, b64) = match part.split_once(':') {
                Some((v, b)) => (
                    v.trim()
                        .trim_start_matches('v')
                        .parse::<u32>()
                        .map_err(|_| {
                            CryptoError::BadKey(
                                "CLINICOS_MASTER_KEY: version before ':' must be a number".into(),
                            )
                        })?,
                    b,
                ),
                None if i == 0 => (1, part),
                None => {
                    return Err(CryptoError::BadKey(
                        "CLINICOS_MASTER_KEY: several keys need 'version:base64' each".into(),
                    ))
                }
            };
            let k = Key32::from_base64(b64).map_err(|e| {
                CryptoError::BadKey(format!("CLINICOS_MASTER_KEY version {v}: {e}"))
            })?;
            if v == 0 || map.insert(v, k).is_some() {
                return Err(CryptoError::BadKey(format!(
                    "CLINICOS_MASTER_KEY: version {v} is zero or repeated"
                )));
            }
        }
        Ok(EnvMasterKey(Ring(RwLock::new(map))))
    }

    /// A provider holding one known key (tests, tools).
    pub fn single(key: Key32) -> EnvMasterKey {
        EnvMasterKey(Ring(RwLock::new(BTreeMap::from([(1, key)]))))
    }
}

impl MasterKeyProvider for EnvMasterKey {
    fn current_version(&self) -> u32 {
        self.0.current()
    }
    fn key(&self, version: u32) -> Result<Key32, CryptoError> {
        self.0.get(version)
    }
    fn rotate(&self) -> Result<u32, CryptoError> {
        Err(CryptoError::RotationUnsupported(
            "add 'N:<base64>' for a new version to CLINICOS_MASTER_KEY, restart, then run `clinicos keys rotate`".into(),
        ))
    }
    fn describe(&self) -> String {
        "environment variable CLINICOS_MASTER_KEY".into()
    }
}

/// Master keys in files: `<path>` is version 1, `<path>.vN` version N.
pub struct FileMasterKey {
    path: PathBuf,
    ring: Ring,
}

fn file_err(path: &Path, reason: impl Into<String>) -> CryptoError {
    CryptoError::KeyFile {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

fn version_path(base: &Path, v: u32) -> PathBuf {
    if v == 1 {
        base.to_path_buf()
    } else {
        let mut s = base.as_os_str().to_owned();
        s.push(format!(".v{v}"));
        PathBuf::from(s)
    }
}

#[cfg(unix)]
fn check_private(path: &Path, meta: &std::fs::Metadata) -> Result<(), CryptoError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(file_err(
            path,
            format!(
                "readable or writable by group/others (mode {mode:04o}); run `chmod 600 {}`",
                path.display()
            ),
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_: &Path, _: &std::fs::Metadata) -> Result<(), CryptoError> {
    Ok(())
}

fn read_key_file(path: &Path) -> Result<Key32, CryptoError> {
    let mut f = std::fs::File::open(path).map_err(|e| file_err(path, e.to_string()))?;
    let meta = f.metadata().map_err(|e| file_err(path, e.to_string()))?;
    check_private(path, &meta)?;
    let mut buf = Zeroizing::new(Vec::with_capacity(33));
    Read::by_ref(&mut f)
        .take(64)
        .read_to_end(&mut buf)
        .map_err(|e| file_err(path, e.to_string()))?;
    Key32::from_slice(&buf).map_err(|_| {
        file_err(
            path,
            format!("must hold exactly 32 bytes, found {}", buf.len()),
        )
    })
}

fn write_key_file(path: &Path, key: &Key32) -> Result<(), CryptoError> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path).map_err(|e| file_err(path, e.to_string()))?;
    f.write_all(key.expose())
        .and_then(|_| f.sync_all())
        .map_err(|e| file_err(path, e.to_string()))
}

fn create_private_dir(dir: &Path) -> Result<(), CryptoError> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir).map_err(|e| file_err(dir, e.to_string()))
}

impl FileMasterKey {
    /// Load every version at `path`; create version 1 if there is none.
    /// Returns whether a new key was generated (the caller warns about it).
    pub fn open_or_create(path: &Path) -> Result<(FileMasterKey, bool), CryptoError> {
        let mut created = false;
        if !path.exists() {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                create_private_dir(dir)?;
            }
            match write_key_file(path, &Key32::generate()) {
                Ok(()) => created = true,
                // Another process created it first: use theirs.
                Err(_) if path.exists() => {}
                Err(e) => return Err(e),
            }
        }
        let mut map = BTreeMap::new();
        let mut v = 1;
        while version_path(path, v).exists() {
            map.insert(v, read_key_file(&version_path(path, v))?);
            v += 1;
        }
        Ok((
            FileMasterKey {
                path: path.to_path_buf(),
                ring: Ring(RwLock::new(map)),
            },
            created,
        ))
    }

    /// The file of a version.
    pub fn version_path(&self, v: u32) -> PathBuf {
        version_path(&self.path, v)
    }
}

impl MasterKeyProvider for FileMasterKey {
    fn current_version(&self) -> u32 {
        self.ring.current()
    }
    fn key(&self, version: u32) -> Result<Key32, CryptoError> {
        self.ring.get(version)
    }
    fn rotate(&self) -> Result<u32, CryptoError> {
        let next = self.current_version() + 1;
        let key = Key32::generate();
        write_key_file(&self.version_path(next), &key)?;
        if let Ok(mut m) = self.ring.0.write() {
            m.insert(next, key);
        }
        Ok(next)
    }
    fn describe(&self) -> String {
        format!("key file {}", self.path.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    #[test]
    fn file_keys_are_created_private_loaded_and_rotated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/master.key");
        let (p, created) = FileMasterKey::open_or_create(&path).unwrap();
        assert!(created);
        assert_eq!(p.current_version(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let k1 = p.key(1).unwrap();
        assert_eq!(p.rotate().unwrap(), 2);
        let (again, created) = FileMasterKey::open_or_create(&path).unwrap();
        assert!(!created);
        assert_eq!(again.current_version(), 2);
        assert_eq!(again.key(1).unwrap().expose(), k1.expose());
        assert_eq!(again.key(3).err(), Some(CryptoError::MissingKeyVersion(3)));
    }

    #[cfg(unix)]
    #[test]
    fn group_readable_key_files_are_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        FileMasterKey::open_or_create(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let err = FileMasterKey::open_or_create(&path)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("chmod 600"), "{err}");
    }

    #[test]
    fn wrong_sized_key_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        write_key_file(&path, &Key32::generate()).unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"x")
            .unwrap();
        let err = FileMasterKey::open_or_create(&path)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("exactly 32 bytes"), "{err}");
    }

    #[test]
    fn env_keys_parse_one_or_several_versions() {
        let b = base64::engine::general_purpose::STANDARD;
        let one = EnvMasterKey::parse(&b.encode([1u8; 32])).unwrap();
        assert_eq!(one.current_version(), 1);
        let two = EnvMasterKey::parse(&format!(
            "1:{},2:{}",
            b.encode([1u8; 32]),
            b.encode([2u8; 32])
        ))
        .unwrap();
        assert_eq!(two.current_version(), 2);
        assert_eq!(two.key(2).unwrap().expose(), &[2u8; 32]);
        assert!(EnvMasterKey::parse("short").is_err());
        assert!(two.rotate().is_err());
        let err = EnvMasterKey::parse("nope").err().unwrap().to_string();
        assert!(!err.contains("nope"), "errors do not echo key text");
    }
}
