//! Master key rotation (`clinicos keys rotate`): a new master key version,
//! then every tenant key and platform secret re-wrapped under it.

use crate::governance::service::Governance;
use crate::kit::platform_secrets::rewrap_all;
use crate::AppResult;

impl Governance<'_> {
    /// `clinicos keys rotate`: make a new master key version (when
    /// `new_version`), then re-wrap every tenant key and every platform
    /// secret under the newest version. Safe to re-run; running servers
    /// keep working (old versions stay readable).
    pub async fn rotate_master_key(
        &self,
        new_version: bool,
    ) -> AppResult<crate::kit::field_cipher::Rotation> {
        let mut r = self.app.cipher.rotate_master(new_version).await?;
        r.secrets_rewrapped = rewrap_all(&self.app.store).await?;
        Ok(r)
    }
}
