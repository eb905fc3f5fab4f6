//! Cross-instance cache invalidation: every instance on a PostgreSQL
//! primary listens (`clinicos_store::kit::notify`) and forgets what another
//! instance invalidated; the instance that changed something forgets its
//! own copy directly and then tells the others, before it answers.
//!
//! On the embedded default (SQLite) there is one instance: nothing to
//! listen to.

use crate::kit::field_cipher::FieldCipher;
use crate::AppResult;
use clinicos_domain::TenantId;
use clinicos_store::kit::notify::{self, Invalidation, Listener};
use clinicos_store::Store;
use std::time::Duration;

/// Tell every other instance to forget the subject's data key.
pub async fn subject_key_erased(store: &Store, tenant: TenantId, subject: &str) -> AppResult<()> {
    let what = Invalidation::SubjectKey {
        tenant: tenant.as_text(),
        subject: subject.to_owned(),
    };
    notify::notify(store.platform(), &what).await?;
    Ok(())
}

fn apply(cipher: &FieldCipher, what: &Invalidation) {
    match what {
        Invalidation::SubjectKey { tenant, subject } => cipher.forget_subject(tenant, subject),
        Invalidation::Everything => cipher.forget_all(),
    }
}

/// Start listening (PostgreSQL only); returns once the `LISTEN` is in
/// place, so nothing sent after this call is missed. The task runs until
/// the runtime stops; a lost connection is retried, and everything cached
/// is forgotten after it (messages may have been missed meanwhile).
pub async fn listen(store: &Store, cipher: FieldCipher) -> AppResult<()> {
    let Some(mut listener) = Listener::connect(store.platform()).await? else {
        return Ok(());
    };
    let db = store.platform().clone();
    tokio::spawn(async move {
        loop {
            match listener.next().await {
                Ok(what) => apply(&cipher, &what),
                Err(e) => {
                    tracing::warn!(error = %e, "cache invalidation listener lost its connection; retrying");
                    cipher.forget_all();
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    match Listener::connect(&db).await {
                        Ok(Some(l)) => listener = l,
                        Ok(None) => return,
                        Err(e) => {
                            tracing::warn!(error = %e, "cache invalidation listener cannot reconnect")
                        }
                    }
                }
            }
        }
    });
    Ok(())
}
