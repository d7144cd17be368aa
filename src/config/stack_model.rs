//! The image stack as dorun uses it after loading: the stack settings, plans, images and
//! manifest commands, and the variants (one per image and plan, parents first), with the
//! reference and tag rules derived from them (SPEC §3, §4). Resolved from tasks.toml by
//! `config::stack`.
pub(crate) use super::budgets::Budgets;
use super::measure::{Measure, MeasureSettings};
use super::services::{Service, ServiceImage};
use dorun_docker::ImageRef;
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct StackSpec {
    pub images_dir: String,
    /// `host[:port]`; None: images live in the local engine only.
    pub registry: Option<String>,
    pub namespace: String,
    pub tag_prefix: String,
    pub stable_tag: String,
    pub rebuild_all_on: Vec<String>,
    pub common_tests: Option<String>,
    /// Which of the engine's builders builds the images.
    pub builder: dorun_docker::Builder,
    /// How images reach the next CI job, and the namespace of the staging repositories.
    pub hand_off: super::hand_off::HandOff,
    pub staging_namespace: String,
    /// `keep-images`: which images a run leaves in the local engine once pushed or staged.
    pub keep_images: super::keep_images::KeepImages,
    /// `published-memory`: how long a content tag seen in the registry is trusted to stay
    /// there without asking (ZERO: ask every run).
    pub published_memory: std::time::Duration,
    /// `rebuild-every`: the period that enters every identity (None: not set).
    pub rebuild_every: Option<RebuildEvery>,
    /// `[stack.secrets.*]`, by id: where each value comes from (never the value).
    pub secrets: Vec<super::secrets::SecretSpec>,
    pub plans: Vec<Plan>,
    pub images: Vec<ImageSpec>,
    pub manifests: BTreeMap<String, ManifestCommand>,
    /// Every image × plan to build, parents before children.
    pub variants: Vec<Variant>,
    /// `[stack.measure]`: what every image inherits.
    pub measure: Option<MeasureSettings>,
}

/// `[stack] rebuild-every`: the whole stack is due once per period of this many seconds,
/// counted from the Unix epoch so that every runner agrees when a period starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RebuildEvery {
    pub seconds: u64,
    /// As written in tasks.toml (`7d`), for messages.
    pub written: String,
}

impl RebuildEvery {
    /// The number of the period `unix_seconds` falls in.
    pub fn period_at(&self, unix_seconds: u64) -> u64 {
        unix_seconds / self.seconds
    }
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub name: String,
    pub tag_prefix: String,
    pub build_args: BTreeMap<String, String>,
    /// `[stack.plans.P] dockerfile`: used by each image whose directory has it.
    pub dockerfile: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ImageSpec {
    pub name: String,
    pub parent: Option<String>,
    pub build_args: BTreeMap<String, String>,
    pub skip_plans: Vec<String>,
    pub manifests: Vec<String>,
    pub test: TestLimits,
    /// `[images.X.budgets]` over `[stack.budgets]`.
    pub budgets: Budgets,
    pub dockerfile: String,
    /// The Dockerfile stage the build stops at; None: the last one.
    pub target: Option<String>,
    /// What the image uses for each plan it is built for, precedence already applied
    /// (image-plan over plan over image; SPEC §3). Empty without plans.
    pub per_plan: BTreeMap<String, PlanBuild>,
    /// `[images.X.measure]` as written.
    pub measure: Option<MeasureSettings>,
}

/// How one image is built and tested for one plan: `[images.X.plans.P]` over
/// `[stack.plans.P]` over `[images.X]`, build args merged key by key.
#[derive(Debug, Clone)]
pub struct PlanBuild {
    pub dockerfile: String,
    pub target: Option<String>,
    pub build_args: BTreeMap<String, String>,
    pub test: TestLimits,
    /// `[images.X.plans.P.budgets]` over the image's.
    pub budgets: Budgets,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TestLimits {
    pub memory_bytes: Option<i64>,
    pub cpus: Option<f64>,
    pub network: Option<String>,
    pub timeout: Duration,
    /// tmpfs mounts of the tested container (`/tmp:size=64m`).
    pub tmpfs: Vec<String>,
    /// This image's own services (its ancestors' are added by `StackSpec::services_of`).
    pub services: BTreeMap<String, Service>,
}

#[derive(Debug, Clone)]
pub struct ManifestCommand {
    pub description: String,
    pub command: String,
}

#[derive(Debug, Clone)]
pub struct Variant {
    /// `name` or `name@plan`: the subtask suffix and the artifact name.
    pub key: String,
    pub image: String,
    pub plan: Option<String>,
    /// Index of the parent variant in `StackSpec::variants`.
    pub parent: Option<usize>,
}

/// Tests run at most this long unless the image says otherwise.
pub(crate) const DEFAULT_TEST_TIMEOUT: Duration = Duration::from_secs(600);

impl StackSpec {
    /// The image named `name`. `images` comes sorted by name from tasks.toml (a map), so this
    /// is a binary search (a scan per question was quadratic in a stack of thousands); a list
    /// built in another order is scanned.
    pub fn image(&self, name: &str) -> &ImageSpec {
        let sorted = self.images.binary_search_by(|i| i.name.as_str().cmp(name));
        match sorted {
            Ok(i) => &self.images[i],
            Err(_) => self
                .images
                .iter()
                .find(|i| i.name == name)
                .expect("validated image name"),
        }
    }

    pub fn plan(&self, name: &str) -> &Plan {
        self.plans
            .iter()
            .find(|p| p.name == name)
            .expect("validated plan name")
    }

    /// `[registry/][namespace/]image:tag`: the one place a reference to an image of this
    /// stack is made.
    pub fn image_ref(&self, image: &str, tag: &str) -> ImageRef {
        ImageRef::tagged(self.registry.as_deref(), &self.registry_path(image), tag)
    }

    /// `registry/staging-namespace/image:tag`: where `hand-off = "registry"` stages an image
    /// (None without a registry).
    pub fn staging_ref(&self, image: &str, tag: &str) -> Option<ImageRef> {
        let registry = self.registry.as_deref()?;
        let path = format!("{}/{image}", self.staging_namespace);
        Some(ImageRef::tagged(Some(registry), &path, tag))
    }

    /// The repository path inside the registry (`namespace/image`).
    pub fn registry_path(&self, image: &str) -> String {
        [self.namespace.as_str(), image]
            .iter()
            .filter(|s| !s.is_empty())
            .cloned()
            .collect::<Vec<_>>()
            .join("/")
    }

    pub fn tag_prefix_of(&self, v: &Variant) -> &str {
        match &v.plan {
            Some(p) => &self.plan(p).tag_prefix,
            None => &self.tag_prefix,
        }
    }

    /// The variant's per-plan settings; None: it has no plan, the image's own apply.
    fn plan_build(&self, v: &Variant) -> Option<&PlanBuild> {
        let plan = v.plan.as_ref()?;
        Some(&self.image(&v.image).per_plan[plan])
    }

    /// The Dockerfile (relative to the image directory) the variant is built from.
    pub fn dockerfile_of(&self, v: &Variant) -> &str {
        match self.plan_build(v) {
            Some(p) => &p.dockerfile,
            None => &self.image(&v.image).dockerfile,
        }
    }

    /// The stage the variant's build stops at; None: the last one.
    pub fn target_of(&self, v: &Variant) -> Option<&str> {
        match self.plan_build(v) {
            Some(p) => p.target.as_deref(),
            None => self.image(&v.image).target.as_deref(),
        }
    }

    /// Image-plan build args over plan ones over image ones, key by key.
    pub fn build_args_of(&self, v: &Variant) -> BTreeMap<String, String> {
        match self.plan_build(v) {
            Some(p) => p.build_args.clone(),
            None => self.image(&v.image).build_args.clone(),
        }
    }

    /// The limits the variant's tests run under.
    pub fn test_limits_of(&self, v: &Variant) -> &TestLimits {
        match self.plan_build(v) {
            Some(p) => &p.test,
            None => &self.image(&v.image).test,
        }
    }

    /// The budgets the variant's measured numbers are held to.
    pub fn budgets_of(&self, v: &Variant) -> &Budgets {
        match self.plan_build(v) {
            Some(p) => &p.budgets,
            None => &self.image(&v.image).budgets,
        }
    }

    /// The variant and its ancestors, root first.
    fn lineage<'a>(&'a self, v: &'a Variant) -> Vec<&'a Variant> {
        let mut chain = vec![v];
        while let Some(p) = chain.last().and_then(|c| c.parent) {
            chain.push(&self.variants[p]);
        }
        chain.reverse();
        chain
    }

    /// The services the variant's tests run with: inherited like its tests (its ancestors'
    /// tests run against it and need theirs), a closer image's service replacing a farther
    /// one's of the same name.
    pub fn services_of(&self, v: &Variant) -> BTreeMap<String, Service> {
        let mut services = BTreeMap::new();
        for ancestor in self.lineage(v) {
            services.extend(self.test_limits_of(ancestor).services.clone());
        }
        services
    }

    /// The variant a service of `v` runs (None: an external image). `db` is db in `v`'s plan.
    pub fn service_variant(&self, v: &Variant, image: &ServiceImage) -> Option<usize> {
        let ServiceImage::Stack { image, plan } = image else {
            return None;
        };
        let key = match plan.as_ref().or(v.plan.as_ref()) {
            Some(p) => format!("{image}@{p}"),
            None => image.clone(),
        };
        self.variant(&key)
    }

    /// How the variant is measured: `[stack.measure]` under each ancestor's `measure` under
    /// its own, key by key. None when none of them has a `measure` table.
    pub fn measure_of(&self, v: &Variant) -> Option<Measure> {
        let mut found = self.measure.is_some();
        let mut settings = self.measure.clone().unwrap_or_default();
        for ancestor in self.lineage(v) {
            if let Some(own) = &self.image(&ancestor.image).measure {
                settings = own.over(&settings);
                found = true;
            }
        }
        found.then(|| settings.with_defaults())
    }

    pub fn stable_tag_of(&self, v: &Variant) -> String {
        match &v.plan {
            Some(_) => format!("{}-{}", self.tag_prefix_of(v), self.stable_tag),
            None => self.stable_tag.clone(),
        }
    }

    pub fn variant(&self, key: &str) -> Option<usize> {
        self.variants.iter().position(|v| v.key == key)
    }
}
