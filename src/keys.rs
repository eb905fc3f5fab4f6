//! Where the field-encryption keys come from at start-up: the master key
//! (a 0600 file outside the data directory, generated with a warning on
//! first start, or `CLINICOS_MASTER_KEY`), and the key store (a SQLite file
//! beside the master key, or `--key-store-url`), which must not be the main
//! database.

use crate::DbArgs;
use clinicos_crypto::{EnvMasterKey, FileMasterKey, MasterKeyProvider};
use clinicos_store::{FieldKeys, KeyStore};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The default master key file, next to the default `./clinicos-data`.
pub const DEFAULT_MASTER_KEY_FILE: &str = "clinicos-keys/master.key";

/// The master key's default place: beside the data directory, never inside
/// it (`<data-dir>-keys/master.key`), so that it does not depend on the
/// working directory and is not in the database's backups; with no data
/// directory, `./clinicos-keys/master.key`.
pub fn default_master_key_file(data_dir: Option<&Path>) -> PathBuf {
    match data_dir {
        None => PathBuf::from(DEFAULT_MASTER_KEY_FILE),
        Some(dir) => beside(dir, "keys").join("master.key"),
    }
}

/// Attachment files' default place, beside the data directory like the
/// keys (`<data-dir>-files/`, or `./clinicos-files` for `./clinicos-data`
/// and with no data directory), so they are not inside the database's
/// directory and can be backed up or moved to object storage on their own.
pub fn default_files_dir(data_dir: Option<&Path>) -> PathBuf {
    match data_dir {
        None => PathBuf::from("clinicos-files"),
        Some(dir) => beside(dir, "files"),
    }
}

/// The audit witness's default file, beside the data directory like the
/// keys (`<data-dir>-audit/checkpoints.jsonl`, or
/// `./clinicos-audit/checkpoints.jsonl` for `./clinicos-data` and with no
/// data directory): outside the database and its directory, so that
/// deleting the newest audit events and their checkpoints from the
/// database leaves the witness's record of them.
pub fn default_audit_witness_file(data_dir: Option<&Path>) -> PathBuf {
    let dir = match data_dir {
        None => PathBuf::from("clinicos-audit"),
        Some(dir) => beside(dir, "audit"),
    };
    dir.join("checkpoints.jsonl")
}

/// `<dir>-<what>` next to `dir`; the usual layout keeps its familiar
/// names (clinicos-data + clinicos-keys, clinicos-files).
fn beside(dir: &Path, what: &str) -> PathBuf {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "clinicos-data".into());
    let sibling = if name == "clinicos-data" {
        format!("clinicos-{what}")
    } else {
        format!("{name}-{what}")
    };
    dir.with_file_name(sibling)
}

fn master(db: &DbArgs) -> Result<(Arc<dyn MasterKeyProvider>, PathBuf), String> {
    let env = std::env::var("CLINICOS_MASTER_KEY")
        .ok()
        .filter(|v| !v.trim().is_empty());
    if let (None, Some(text)) = (&db.master_key_file, env) {
        let p = EnvMasterKey::parse(&text).map_err(|e| e.to_string())?;
        return Ok((Arc::new(p), PathBuf::from("clinicos-keys")));
    }
    let path = db
        .master_key_file
        .clone()
        .unwrap_or_else(|| default_master_key_file(db.data_dir.as_deref()));
    let (p, created) = FileMasterKey::open_or_create(&path).map_err(|e| e.to_string())?;
    if created {
        let msg = format!(
            "generated a new master key at {}: back it up apart from the database; without it encrypted data cannot be read",
            path.display()
        );
        eprintln!("clinicos: warning: {msg}");
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    Ok((Arc::new(p), dir))
}

/// The master key provider and the opened key store.
pub async fn field_keys(db: &DbArgs, database_url: &str) -> Result<FieldKeys, String> {
    let (master, dir) = master(db)?;
    let url = match db.key_store_url.clone() {
        Some(u) => u,
        None => {
            std::fs::create_dir_all(&dir)
                .map_err(|e| format!("cannot create key directory {}: {e}", dir.display()))?;
            KeyStore::sqlite_url_for_dir(&dir)
        }
    };
    if url == database_url {
        return Err(
            "the key store must be a different database from the main one (--key-store-url)".into(),
        );
    }
    let key_store = KeyStore::open(&url)
        .await
        .map_err(|e| format!("cannot open the key store: {e}"))?;
    Ok(FieldKeys { key_store, master })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_master_key_sits_beside_the_data_directory() {
        assert_eq!(
            default_master_key_file(None),
            PathBuf::from("clinicos-keys/master.key")
        );
        assert_eq!(
            default_master_key_file(Some(Path::new("/var/lib/clinicos"))),
            PathBuf::from("/var/lib/clinicos-keys/master.key")
        );
        assert_eq!(
            default_master_key_file(Some(Path::new("data"))),
            PathBuf::from("data-keys/master.key")
        );
        assert_eq!(
            default_master_key_file(Some(Path::new("/srv/clinicos-data"))),
            PathBuf::from("/srv/clinicos-keys/master.key")
        );
    }

    #[test]
    fn files_sit_beside_the_data_directory() {
        assert_eq!(default_files_dir(None), PathBuf::from("clinicos-files"));
        assert_eq!(
            default_audit_witness_file(Some(Path::new("/srv/clinicos-data"))),
            PathBuf::from("/srv/clinicos-audit/checkpoints.jsonl")
        );
        assert_eq!(
            default_audit_witness_file(Some(Path::new("/var/lib/clinicos"))),
            PathBuf::from("/var/lib/clinicos-audit/checkpoints.jsonl")
        );
        assert_eq!(
            default_audit_witness_file(None),
            PathBuf::from("clinicos-audit/checkpoints.jsonl")
        );
        assert_eq!(
            default_files_dir(Some(Path::new("/var/lib/clinicos"))),
            PathBuf::from("/var/lib/clinicos-files")
        );
        assert_eq!(
            default_files_dir(Some(Path::new("/srv/clinicos-data"))),
            PathBuf::from("/srv/clinicos-files")
        );
    }
}
