//! What a manifest page is made of: the stored record of one image's build facts and manifest
//! command outputs, and the rows of STACK.md. Shared by `record` (storage) and `render` (Markdown).
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct ManifestRecord {
    pub key: String,
    pub image: String,
    pub plan: Option<String>,
    /// The human reference the page is named after.
    pub reference: String,
    pub content_reference: String,
    /// The parent's content reference (the build's `BASE_IMAGE`).
    pub parent: Option<String>,
    pub image_id: String,
    pub size: i64,
    pub git_commit: Option<String>,
    pub git_message: Option<String>,
    /// Unix seconds.
    pub built_at: u64,
    pub build_seconds: Option<f64>,
    /// Oldest first, so the cumulative size grows down the table.
    pub layers: Vec<LayerRow>,
    pub sections: Vec<Section>,
    /// The page's file name inside the manifests directory.
    pub file: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct LayerRow {
    pub created_by: String,
    pub size: i64,
    /// Unix seconds.
    pub created: i64,
}

/// One manifest command's run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Section {
    pub name: String,
    pub description: String,
    pub command: String,
    pub exit_code: i64,
    pub timed_out: bool,
    pub stdout: String,
    pub stderr: String,
}

/// One STACK.md row.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct StackRow {
    /// `name` or `name@plan`.
    pub key: String,
    /// The manifest page, relative to the manifests directory, when there is one.
    pub page: Option<String>,
    pub reference: String,
    pub parent: Option<String>,
    pub size: Option<i64>,
    pub digest: Option<String>,
    pub last_built: String,
}
