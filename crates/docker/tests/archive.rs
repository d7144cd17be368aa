//! Image archives against the real engine: an image exported under two tags comes back with
//! both (same image id) once loaded into an engine that lost it; a torn archive is refused.

mod common;

use common::Images;
use dorun_docker::{archive_tags, DockerError};

#[test]
fn an_exported_image_loads_back_with_its_tags() {
    let Some(engine) = common::engine() else {
        return;
    };
    let mut images = Images::new(&engine);
    let content = common::busybox_image(&mut images, "archive", "RUN echo archived > /marker\n");
    let human = images.track(&common::unique_ref("archive-human"));
    engine.tag_reference(&content, &human).unwrap();
    let id = engine.image_id(&content).unwrap().expect("built");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("archive.tar");
    let mut file = std::fs::File::create(&path).unwrap();
    let written = engine.export_image(&[&content, &human], &mut file).unwrap();
    drop(file);
    assert_eq!(written, std::fs::metadata(&path).unwrap().len());
    let mut tags = archive_tags(&path).unwrap();
    tags.sort();
    let mut expected = vec![content.clone(), human.clone()];
    expected.sort();
    assert_eq!(tags, expected);

    // The engine loses the image (as a fresh runner never had it), then loads it back.
    engine.remove_image(&content, true).unwrap();
    engine.remove_image(&human, true).unwrap();
    assert_eq!(engine.image_id(&content).unwrap(), None);
    let mut loaded = engine.load_image(&path).unwrap();
    loaded.sort();
    assert_eq!(loaded, expected);
    assert_eq!(engine.image_id(&content).unwrap().as_deref(), Some(&*id));
    assert_eq!(engine.image_id(&human).unwrap().as_deref(), Some(&*id));
}

#[test]
fn a_torn_archive_is_refused_and_loads_nothing() {
    let Some(engine) = common::engine() else {
        return;
    };
    let mut images = Images::new(&engine);
    let content = common::busybox_image(&mut images, "torn", "RUN echo torn > /marker\n");
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole.tar");
    let mut file = std::fs::File::create(&whole).unwrap();
    engine.export_image(&[&content], &mut file).unwrap();
    drop(file);
    let bytes = std::fs::read(&whole).unwrap();
    let torn = dir.path().join("torn.tar");
    std::fs::write(&torn, &bytes[..bytes.len() / 2]).unwrap();

    let err = archive_tags(&torn).unwrap_err();
    assert!(matches!(err, DockerError::Archive { .. }), "{err}");
    engine.remove_image(&content, true).unwrap();
    let err = engine.load_image(&torn).unwrap_err();
    assert!(!err.is_environment(), "{err}");
    assert_eq!(engine.image_id(&content).unwrap(), None, "{err}");
}

#[test]
fn exporting_an_image_the_engine_lacks_names_it() {
    let Some(engine) = common::engine() else {
        return;
    };
    let missing = common::unique_ref("never-built");
    let err = engine
        .export_image(&[&missing], &mut std::io::sink())
        .unwrap_err();
    assert!(err.to_string().contains(&missing), "{err}");
    assert!(!err.is_environment(), "{err}");
}
