//! Resolution of the image stack declared in tasks.toml: `[stack]`, `[stack.plans.*]`,
//! `[images.*]`, `[manifests.*]`, validated against the images directory and expanded into
//! variants (one per image and plan), parents first (SPEC §3, §4).
use crate::config::resolve::{check_inside, parse_duration, Locator};
use crate::config::schema::{RawImage, RawImagePlan, RawManifest, RawStack, RawTestLimits};
use crate::error::{suggest, Error, Result};
use regex::Regex;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::LazyLock;
use toml::Spanned;

use super::stack_model::{
    ImageSpec, ManifestCommand, Plan, PlanBuild, RebuildEvery, StackSpec, TestLimits, Variant,
    DEFAULT_TEST_TIMEOUT,
};

pub(crate) fn resolve(
    raw: Option<RawStack>,
    images: &BTreeMap<Spanned<String>, RawImage>,
    manifests: BTreeMap<Spanned<String>, RawManifest>,
    root: &Path,
    loc: &Locator,
) -> Result<Option<StackSpec>> {
    let Some(raw) = raw else {
        if let Some((name, _)) = images.iter().next() {
            return Err(loc.error(name, "[images.*] needs a [stack] table"));
        }
        return Ok(None);
    };
    let images_dir = match &raw.images_dir {
        Some(d) => {
            check_inside(d, loc)?;
            d.get_ref().clone()
        }
        None => "images".to_string(),
    };
    let registry = super::reference::resolve_registry(
        raw.registry.as_ref(),
        std::env::var("DORUN_REGISTRY").ok(),
        loc,
    )?;
    let builder = super::builder::BUILDER.resolve(
        raw.builder.as_ref(),
        dorun_docker::Builder::BuildKit,
        loc,
    )?;
    let secrets = super::secrets::resolve(&raw.secrets, loc)?;
    let namespace = match &raw.namespace {
        Some(ns) => checked_namespace(ns, "namespace", loc)?,
        None => String::new(),
    };
    if let Some(staging) = &raw.staging_namespace {
        checked_namespace(staging, "staging-namespace", loc)?;
    }
    let staging_namespace =
        super::hand_off::staging_namespace(raw.staging_namespace.as_ref(), &namespace, loc)?;
    let hand_off = super::hand_off::resolve(raw.hand_off.as_ref(), registry.as_deref(), loc)?;
    let keep_images = super::keep_images::KEEP_IMAGES.resolve(
        raw.keep_images.as_ref(),
        super::keep_images::KeepImages::All,
        loc,
    )?;
    let published_memory = super::published_memory::resolve(raw.published_memory.as_ref(), loc)?;
    let rebuild_every = raw
        .rebuild_every
        .as_ref()
        .map(|d| rebuild_every(d, loc))
        .transpose()?;
    let tag_prefix = spanned_tag(raw.tag_prefix.as_ref(), "latest", loc)?;
    let stable_tag = spanned_tag(raw.stable_tag.as_ref(), "stable", loc)?;
    if let Some(written) = &raw.tag_prefix {
        super::reference::check_derived_tags(&tag_prefix, None, loc.at(written))?;
    }
    for p in &raw.rebuild_all_on {
        crate::config::resolve::check_relative_glob(p, loc)?;
    }
    let common_tests = raw.common_tests.as_ref().map(|c| -> Result<String> {
        check_inside(c, loc)?;
        Ok(c.get_ref().clone())
    });
    let common_tests = common_tests.transpose()?;

    let mut plans = Vec::new();
    for (name, plan) in &raw.plans {
        if !valid_tag(name.get_ref()) {
            return Err(loc.error(name, format!("invalid plan name `{}`", name.get_ref())));
        }
        let prefix = match &plan.tag_prefix {
            Some(t) => spanned_tag(Some(t), "", loc)?,
            None => format!("{tag_prefix}-{}", name.get_ref()),
        };
        // A derived prefix is reported at the plan's name, the only place it is written.
        let written = plan.tag_prefix.as_ref().map_or(loc.at(name), |t| loc.at(t));
        super::reference::check_derived_tags(&prefix, Some(&stable_tag), written)?;
        if let Some(d) = &plan.dockerfile {
            check_inside(d, loc)?;
        }
        plans.push(Plan {
            name: name.get_ref().clone(),
            tag_prefix: prefix,
            build_args: plan.build_args.clone(),
            dockerfile: plan.dockerfile.as_ref().map(|d| d.get_ref().clone()),
        });
    }

    let mut manifest_cmds = BTreeMap::new();
    for (name, m) in manifests {
        manifest_cmds.insert(
            name.get_ref().clone(),
            ManifestCommand {
                description: m
                    .description
                    .clone()
                    .unwrap_or_else(|| name.get_ref().clone()),
                command: m.command.get_ref().clone(),
            },
        );
    }

    let stack_budgets = super::budgets::resolve(raw.budgets.as_ref(), &Default::default(), loc)?;
    let mut specs = Vec::new();
    let names: Vec<String> = images.keys().map(|k| k.get_ref().clone()).collect();
    debug_assert!(
        names.is_sorted(),
        "resolve_image looks names up by binary search"
    );
    for (name, image) in images {
        let mut spec = resolve_image(
            name,
            image,
            &names,
            &plans,
            &manifest_cmds,
            root,
            &images_dir,
            loc,
        )?;
        with_budgets(&mut spec, image, &stack_budgets, &raw.plans, loc)?;
        specs.push(spec);
    }
    check_directories(root, &images_dir, images, common_tests.as_deref(), loc)?;
    let order = image_order(&specs, images, loc)?;
    let variants = expand_variants(&specs, &order, &plans, images, loc)?;
    let measure = raw
        .measure
        .as_ref()
        .map(|m| super::measure::resolve(m, loc))
        .transpose()?;
    let spec = StackSpec {
        images_dir,
        registry,
        namespace,
        tag_prefix,
        stable_tag,
        rebuild_all_on: raw
            .rebuild_all_on
            .iter()
            .map(|s| s.get_ref().clone())
            .collect(),
        common_tests,
        builder,
        hand_off,
        staging_namespace,
        keep_images,
        published_memory,
        rebuild_every,
        secrets,
        plans,
        images: specs,
        manifests: manifest_cmds,
        variants,
        measure,
    };
    check_service_variants(&spec, images, loc)?;
    Ok(Some(spec))
}

/// Budgets key by key with the precedence of every per-plan setting (SPEC §3): image-plan over
/// plan over image over stack. They are not inherited from the parent image: a child is its
/// parent plus more.
fn with_budgets(
    spec: &mut ImageSpec,
    raw: &RawImage,
    stack: &super::budgets::Budgets,
    plans: &BTreeMap<Spanned<String>, crate::config::schema::RawPlan>,
    loc: &Locator,
) -> Result<()> {
    use super::budgets::resolve as over;
    spec.budgets = over(raw.budgets.as_ref(), stack, loc)?;
    for (plan, build) in spec.per_plan.iter_mut() {
        let of_plan = plans
            .iter()
            .find(|(p, _)| p.get_ref() == plan)
            .and_then(|(_, p)| p.budgets.as_ref());
        let of_image_plan = raw
            .plans
            .iter()
            .find(|(p, _)| p.get_ref() == plan)
            .and_then(|(_, s)| s.budgets.as_ref());
        let plan_wide = over(of_plan, &spec.budgets, loc)?;
        build.budgets = over(of_image_plan, &plan_wide, loc)?;
    }
    Ok(())
}

/// `rebuild-every`: a duration of whole seconds (a period is counted in seconds).
fn rebuild_every(written: &Spanned<String>, loc: &Locator) -> Result<RebuildEvery> {
    let every = parse_duration(written, loc)?;
    if every.as_secs() == 0 || every.subsec_nanos() != 0 {
        return Err(loc.error(
            written,
            format!(
                "rebuild-every = `{}` is not a whole number of seconds (examples: 7d, 24h, 30s)",
                written.get_ref()
            ),
        ));
    }
    Ok(RebuildEvery {
        seconds: every.as_secs(),
        written: written.get_ref().trim().to_string(),
    })
}

#[allow(clippy::too_many_arguments)]
fn resolve_image(
    name: &Spanned<String>,
    image: &RawImage,
    names: &[String],
    plans: &[Plan],
    manifests: &BTreeMap<String, ManifestCommand>,
    root: &Path,
    images_dir: &str,
    loc: &Locator,
) -> Result<ImageSpec> {
    let raw = image;
    if !valid_path_component(name.get_ref()) {
        return Err(loc.error(
            name,
            format!(
                "invalid image name `{}`: Docker references need lowercase letters, digits and separators . _ -",
                name.get_ref()
            ),
        ));
    }
    if let Some(parent) = &raw.depends_on {
        // Sorted (the keys of a BTreeMap): thousands of images, each looked up once.
        if names.binary_search(parent.get_ref()).is_err() {
            let hint = suggest(parent.get_ref(), names.iter().map(String::as_str))
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            return Err(loc.error(
                parent,
                format!(
                    "image `{}` depends on unknown image `{}`{hint}",
                    name.get_ref(),
                    parent.get_ref()
                ),
            ));
        }
    }
    let plan_names: Vec<&str> = plans.iter().map(|p| p.name.as_str()).collect();
    for p in &raw.skip_plans {
        if !plan_names.contains(&p.get_ref().as_str()) {
            return Err(loc.error(p, format!("unknown plan `{}` in skip-plans", p.get_ref())));
        }
    }
    for p in raw.plans.keys() {
        if !plan_names.contains(&p.get_ref().as_str()) {
            let hint = suggest(p.get_ref(), plan_names.iter().copied())
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            return Err(loc.error(
                p,
                format!(
                    "unknown plan `{}` in [images.{}.plans]{hint}: declare it as [stack.plans.{}]",
                    p.get_ref(),
                    name.get_ref(),
                    p.get_ref()
                ),
            ));
        }
    }
    for m in &raw.manifests {
        if !manifests.contains_key(m.get_ref()) {
            let hint = suggest(m.get_ref(), manifests.keys().map(String::as_str))
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            return Err(loc.error(
                m,
                format!(
                    "unknown manifest `{}`{hint}: declare it as [manifests.{}]",
                    m.get_ref(),
                    m.get_ref()
                ),
            ));
        }
    }
    let dockerfile = match &raw.dockerfile {
        Some(d) => {
            check_inside(d, loc)?;
            d.get_ref().clone()
        }
        None => "Dockerfile".to_string(),
    };
    let dir = root.join(images_dir).join(name.get_ref());
    // One stat when all is well: a Dockerfile that is a file means the folder exists.
    let has_dockerfile = dir.join(&dockerfile).is_file();
    if !has_dockerfile && !dir.is_dir() {
        return Err(loc.error(
            name,
            format!(
                "image `{}` has no directory {}/{}",
                name.get_ref(),
                images_dir,
                name.get_ref()
            ),
        ));
    }
    if !has_dockerfile {
        return Err(loc.error(
            name,
            format!(
                "missing Dockerfile: {}/{}/{dockerfile} does not exist",
                images_dir,
                name.get_ref()
            ),
        ));
    }
    let defaults = TestLimits {
        memory_bytes: None,
        cpus: None,
        network: None,
        timeout: DEFAULT_TEST_TIMEOUT,
        tmpfs: Vec::new(),
        services: BTreeMap::new(),
    };
    let stack_names = StackNames {
        images: names,
        plans: &plan_names,
    };
    let test = resolve_limits(raw.test.as_ref(), defaults, &stack_names, loc)?;
    let measure = raw
        .measure
        .as_ref()
        .map(|m| super::measure::resolve(m, loc))
        .transpose()?;
    let target = checked_target(raw.target.as_ref(), loc)?;
    let mut skip_plans: Vec<String> = raw.skip_plans.iter().map(|p| p.get_ref().clone()).collect();
    let mut own = ImageSpec {
        name: name.get_ref().clone(),
        parent: raw.depends_on.as_ref().map(|p| p.get_ref().clone()),
        build_args: raw.build_args.clone(),
        skip_plans: Vec::new(),
        manifests: raw.manifests.iter().map(|m| m.get_ref().clone()).collect(),
        test,
        budgets: Default::default(),
        dockerfile,
        target,
        per_plan: BTreeMap::new(),
        measure,
    };
    let no_settings = RawImagePlan::default();
    for plan in plans {
        let settings = raw
            .plans
            .iter()
            .find(|(p, _)| *p.get_ref() == plan.name)
            .map_or(&no_settings, |(_, s)| s);
        if settings.skip {
            skip_plans.push(plan.name.clone());
        }
        if skip_plans.contains(&plan.name) {
            continue;
        }
        let build = plan_build(&own, plan, settings, &dir, images_dir, &stack_names, loc)?;
        own.per_plan.insert(plan.name.clone(), build);
    }
    skip_plans.sort();
    skip_plans.dedup();
    own.skip_plans = skip_plans;
    Ok(own)
}

/// One image's settings for one plan: `[images.X.plans.P]` over `[stack.plans.P]` over
/// `[images.X]`; build args merged key by key in that order.
fn plan_build(
    image: &ImageSpec,
    plan: &Plan,
    settings: &RawImagePlan,
    dir: &Path,
    images_dir: &str,
    names: &StackNames,
    loc: &Locator,
) -> Result<PlanBuild> {
    let dockerfile = match &settings.dockerfile {
        Some(d) => {
            check_inside(d, loc)?;
            if !dir.join(d.get_ref()).is_file() {
                return Err(loc.error(
                    d,
                    format!(
                        "missing Dockerfile: {images_dir}/{}/{} does not exist",
                        image.name,
                        d.get_ref()
                    ),
                ));
            }
            d.get_ref().clone()
        }
        // The plan's file is optional per image: an image without it keeps its own.
        None => match &plan.dockerfile {
            Some(d) if dir.join(d).is_file() => d.clone(),
            _ => image.dockerfile.clone(),
        },
    };
    let target = match &settings.target {
        Some(_) => checked_target(settings.target.as_ref(), loc)?,
        None => image.target.clone(),
    };
    let mut build_args = image.build_args.clone();
    build_args.extend(plan.build_args.clone());
    build_args.extend(settings.build_args.clone());
    Ok(PlanBuild {
        dockerfile,
        target,
        build_args,
        test: resolve_limits(settings.test.as_ref(), image.test.clone(), names, loc)?,
        budgets: Default::default(),
    })
}

/// Whether the stage exists is the builder's to say (it parses the Dockerfile); an empty
/// name would silently mean "the last stage".
fn checked_target(target: Option<&Spanned<String>>, loc: &Locator) -> Result<Option<String>> {
    let Some(t) = target else {
        return Ok(None);
    };
    if t.get_ref().trim().is_empty() {
        return Err(loc.error(
            t,
            "empty target: name a stage of the Dockerfile (`FROM … AS <stage>`), or remove the key",
        ));
    }
    Ok(Some(t.get_ref().clone()))
}

/// The stack's image and plan names, for what refers to them (services).
struct StackNames<'a> {
    images: &'a [String],
    plans: &'a [&'a str],
}

/// `test` limits over `base`, field by field (an image-plan's over its image's); services are
/// merged by name.
fn resolve_limits(
    raw: Option<&RawTestLimits>,
    base: TestLimits,
    names: &StackNames,
    loc: &Locator,
) -> Result<TestLimits> {
    let Some(t) = raw else {
        return Ok(base);
    };
    let memory_bytes = match &t.memory {
        Some(m) => Some(super::limits::parse_memory(m.get_ref()).map_err(|why| {
            loc.error(m, format!("invalid memory limit `{}`: {why}", m.get_ref()))
        })?),
        None => base.memory_bytes,
    };
    let cpus = match &t.cpus {
        Some(c) => Some(
            super::limits::check_cpus(*c.get_ref())
                .map_err(|why| loc.error(c, format!("invalid cpus `{}`: {why}", c.get_ref())))?,
        ),
        None => base.cpus,
    };
    let timeout = match &t.timeout {
        Some(d) => parse_duration(d, loc)?,
        None => base.timeout,
    };
    let tmpfs = match &t.tmpfs {
        Some(list) => super::services::tmpfs(list, loc)?,
        None => base.tmpfs,
    };
    let mut services = base.services;
    for (name, raw) in &t.services {
        let service = super::services::resolve(name, raw, names.images, names.plans, loc)?;
        services.insert(name.get_ref().clone(), service);
    }
    let network = t
        .network
        .as_ref()
        .map(|n| n.get_ref().clone())
        .or(base.network);
    // With services the tested container joins their private network: only "bridge" (the
    // default) and "none" (that network without a route outside) say what it may reach.
    if let Some(n) = network
        .as_deref()
        .filter(|n| !services.is_empty() && !["none", "bridge"].contains(n))
    {
        let message = format!("network = \"{n}\" cannot be combined with services: the tests run on the services' private network; use \"bridge\" (the default) or \"none\" (no outside network)");
        return Err(match (&t.network, t.services.keys().next()) {
            (Some(written), _) => loc.error(written, message),
            (None, Some(service)) => loc.error(service, message),
            (None, None) => Error::config(None, message),
        });
    }
    Ok(TestLimits {
        memory_bytes,
        cpus,
        network,
        timeout,
        tmpfs,
        services,
    })
}

/// A service naming a stack image needs that image in the tested variant's plan: `db` for
/// `app@slim` is `db@slim`, which `db` may skip.
fn check_service_variants(
    spec: &StackSpec,
    images: &BTreeMap<Spanned<String>, RawImage>,
    loc: &Locator,
) -> Result<()> {
    for v in &spec.variants {
        for (name, service) in spec.services_of(v) {
            if !matches!(service.image, super::services::ServiceImage::Stack { .. }) {
                continue;
            }
            if spec.service_variant(v, &service.image).is_some() {
                continue;
            }
            // Reported where some image declares the service (the first that does).
            let at = images.values().find_map(|raw| {
                let plans = raw.plans.values().filter_map(|p| p.test.as_ref());
                raw.test
                    .iter()
                    .chain(plans)
                    .find_map(|t| t.services.iter().find(|(k, _)| *k.get_ref() == name))
                    .map(|(_, s)| loc.at(&s.get_ref().image))
            });
            let plan = v.plan.as_deref().unwrap_or("");
            return Err(Error::config(
                at,
                format!(
                    "service `{name}` of {} names a stack image not built for plan `{plan}`: name the plan (`image@plan`) or build the image for `{plan}`",
                    v.key
                ),
            ));
        }
    }
    Ok(())
}

/// Every directory of images-dir holding a Dockerfile must be declared, and the reverse.
fn check_directories(
    root: &Path,
    images_dir: &str,
    images: &BTreeMap<Spanned<String>, RawImage>,
    common_tests: Option<&str>,
    loc: &Locator,
) -> Result<()> {
    let dir = root.join(images_dir);
    let entries = std::fs::read_dir(&dir).map_err(|e| {
        Error::config(
            None,
            format!(
                "{}: cannot read the images directory ({e}); set [stack] images-dir",
                dir.display()
            ),
        )
    })?;
    let declared: BTreeSet<&str> = images.keys().map(|k| k.get_ref().as_str()).collect();
    let mut undeclared = Vec::new();
    for e in entries.flatten() {
        let path = e.path();
        let name = e.file_name().to_string_lossy().to_string();
        let is_common = common_tests.is_some_and(|c| root.join(c) == path);
        // The declared folders are most of them: checked first, they cost no stat.
        if !declared.contains(name.as_str()) && !is_common && path.join("Dockerfile").is_file() {
            undeclared.push(name);
        }
    }
    undeclared.sort();
    if let Some(name) = undeclared.first() {
        return Err(Error::config(
            Some(crate::error::Location {
                file: loc.file.to_path_buf(),
                line: 1,
                column: 1,
                text: String::new(),
            }),
            format!(
                "{images_dir}/{name} has a Dockerfile but tasks.toml has no [images.{name}] entry"
            ),
        ));
    }
    Ok(())
}

/// Images in build order: by generation (roots, then their children, ...), ties by name; an
/// image cycle is reported as its loop.
fn image_order(
    specs: &[ImageSpec],
    images: &BTreeMap<Spanned<String>, RawImage>,
    loc: &Locator,
) -> Result<Vec<usize>> {
    let index: BTreeMap<&str, usize> = specs
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.as_str(), i))
        .collect();
    let parent = |i: usize| specs[i].parent.as_deref().map(|p| index[p]);
    let mut depth = vec![0usize; specs.len()];
    for (i, d) in depth.iter_mut().enumerate() {
        // Walk up to the root; coming back to `i` (or taking more steps than there are
        // images) means a cycle.
        let mut path = vec![i];
        let mut at = i;
        while let Some(p) = parent(at) {
            if let Some(start) = path.iter().position(|&x| x == p) {
                let mut names: Vec<String> = path[start..]
                    .iter()
                    .map(|&c| specs[c].name.clone())
                    .collect();
                names.push(specs[p].name.clone());
                let at = images
                    .iter()
                    .find(|(k, _)| *k.get_ref() == names[0])
                    .and_then(|(_, v)| v.depends_on.as_ref())
                    .map(|d| loc.at(d));
                return Err(Error::config(
                    at,
                    format!("image dependency cycle: {}", names.join(" -> ")),
                ));
            }
            path.push(p);
            at = p;
        }
        *d = path.len() - 1;
    }
    let mut order: Vec<usize> = (0..specs.len()).collect();
    order.sort_by(|&a, &b| (depth[a], &specs[a].name).cmp(&(depth[b], &specs[b].name)));
    Ok(order)
}

fn expand_variants(
    specs: &[ImageSpec],
    order: &[usize],
    plans: &[Plan],
    images: &BTreeMap<Spanned<String>, RawImage>,
    loc: &Locator,
) -> Result<Vec<Variant>> {
    let mut variants: Vec<Variant> = Vec::new();
    for &i in order {
        let spec = &specs[i];
        let plan_list: Vec<Option<&Plan>> = if plans.is_empty() {
            vec![None]
        } else {
            plans
                .iter()
                .filter(|p| !spec.skip_plans.contains(&p.name))
                .map(Some)
                .collect()
        };
        for plan in plan_list {
            let key = match plan {
                Some(p) => format!("{}@{}", spec.name, p.name),
                None => spec.name.clone(),
            };
            let parent = match &spec.parent {
                None => None,
                Some(parent) => {
                    let parent_key = match plan {
                        Some(p) => format!("{parent}@{}", p.name),
                        None => parent.clone(),
                    };
                    let found = variants.iter().position(|v| v.key == parent_key);
                    if found.is_none() {
                        let at = images
                            .iter()
                            .find(|(k, _)| *k.get_ref() == spec.name)
                            .map(|(k, _)| loc.at(k));
                        return Err(Error::config(
                            at,
                            format!("image `{}` is built for plan `{}` but its parent `{parent}` skips that plan", spec.name, plan.map(|p| p.name.as_str()).unwrap_or("")),
                        ));
                    }
                    found
                }
            };
            variants.push(Variant {
                key,
                image: spec.name.clone(),
                plan: plan.map(|p| p.name.clone()),
                parent,
            });
        }
    }
    Ok(variants)
}

/// A namespace of repositories: `/`-separated Docker path components.
fn checked_namespace(ns: &Spanned<String>, key: &str, loc: &Locator) -> Result<String> {
    for part in ns.get_ref().split('/') {
        if !valid_path_component(part) {
            return Err(loc.error(ns, format!("invalid {key} `{}`: use lowercase letters, digits and separators . _ - (Docker reference rules)", ns.get_ref())));
        }
    }
    Ok(ns.get_ref().clone())
}

/// A path component of a Docker reference: `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`. (Compiled once
/// per process: every image's names are checked, and compiling per call was a tenth of a no-op
/// run's CPU at 321 images.)
pub(crate) fn valid_path_component(s: &str) -> bool {
    static RE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*$").unwrap());
    RE.is_match(s)
}

/// A Docker tag: `[\w][\w.-]{0,127}`.
pub(crate) fn valid_tag(s: &str) -> bool {
    static RE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$").unwrap());
    RE.is_match(s)
}

fn spanned_tag(t: Option<&Spanned<String>>, default: &str, loc: &Locator) -> Result<String> {
    match t {
        None => Ok(default.to_string()),
        Some(t) => {
            // The length of the tags derived from a prefix is checked by the caller.
            if !valid_tag(t.get_ref()) {
                return Err(loc.error(t, format!("invalid tag `{}`: use letters, digits, `_`, `.` and `-` (not first), at most 128 characters", t.get_ref())));
            }
            Ok(t.get_ref().clone())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_components() {
        assert!(valid_path_component("base"));
        assert!(valid_path_component("py-3.11"));
        assert!(!valid_path_component("Base"));
        assert!(!valid_path_component("-x"));
        assert!(valid_tag("2026.4-py311"));
        assert!(!valid_tag("-x"));
    }
}
