//! One owner for the stack-wide artifact files (SPEC §6): IMAGES_CHANGED, IMAGES_BUILT,
//! IMAGES_TEST_PASSED/ERROR, junit.xml, IMAGES_PUSHED, the manifest pages, STACK.md and the
//! variant report. The
//! ledger is seeded once per run (`seed`), image subtasks report what they established, and
//! the files are rewritten from memory, atomically — the engine and registry are never asked
//! while the ledger's lock is held. Files are always whole recomputations, so a resumed run
//! leaves the same files as one uninterrupted run.
//!
//! Bytes written per run stay linear in the number of images: `changed` writes every list once
//! from the seed (only facts already established), a report only marks the stack-wide files it
//! changes as unwritten, and `flush` writes those once at the end of the run (interrupted or
//! not). A killed run thus leaves the seed's lists, never one claiming unfinished work. A
//! variant's own page is written when it changes (O(1) per report).
mod book;
mod seed;

pub(crate) use book::{Book, TestRow};

use crate::exec::work::{now_unix, TaskError};
use crate::stack::artifacts;
use crate::stack::manifest::model::ManifestRecord;
use crate::stack::manifest::{record as manifest_record, render as manifest_render};
use crate::stack::push::record::PushRecord;
use crate::stack::runtime::Runtime;
use crate::stack::test::report::{self, VariantResults};
use std::collections::{BTreeSet, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

/// The book, seeded on first use, and which stack-wide files it changed since they were last
/// written.
#[derive(Default)]
pub(crate) struct Ledger {
    book: Mutex<Option<Book>>,
    /// Held while the seed is read, so racing first uses read it once; never held with `book`.
    seeding: Mutex<()>,
    /// Taken only while `book` is held.
    unwritten: Mutex<BTreeSet<Unwritten>>,
    /// IMAGES_TEST_PASSED and IMAGES_TEST_ERROR as `test_lists` last answered, until the next
    /// change of the book: each test subtask's decision asks whether its image is listed, and
    /// reading the list file for each one read N lists to decide N images. Taken only while
    /// `book` is held.
    test_lists: Mutex<Option<Arc<TestLists>>>,
}

/// The references IMAGES_TEST_PASSED and IMAGES_TEST_ERROR list.
#[derive(Debug, Default)]
pub(crate) struct TestLists {
    pub(crate) passed: HashSet<String>,
    pub(crate) failed: HashSet<String>,
}

/// A stack-wide file (or group of files) whose content in the book is newer than on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Unwritten {
    Built,
    /// IMAGES_TEST_PASSED, IMAGES_TEST_ERROR and junit.xml.
    Tests,
    Pushed,
    /// manifests/STACK.md.
    StackPage,
    /// manifests/REPORT.md and report.html (and GITHUB_STEP_SUMMARY), from the metrics records.
    Report,
}

impl Ledger {
    /// Answers a question from the book (seeding it first if needed).
    pub(crate) fn view<T>(
        &self,
        rt: &Runtime,
        question: impl FnOnce(&Book) -> T,
    ) -> Result<T, TaskError> {
        let guard = self.seeded(rt)?;
        Ok(question(guard.as_ref().expect("seeded")))
    }

    /// `images-changed`: every list, from the book as seeded for this run (so a run in which
    /// every later subtask is up to date does not leave lists of an earlier pipeline).
    pub(crate) fn write_lists(&self, rt: &Runtime) -> Result<(), TaskError> {
        self.update(rt, |book, unwritten| {
            artifacts::write_list(rt, "IMAGES_CHANGED", &book.changed_keys())?;
            for file in [Unwritten::Built, Unwritten::Tests, Unwritten::Pushed] {
                write(rt, book, file)?;
                unwritten.remove(&file);
            }
            Ok(())
        })
    }

    /// Writes every stack-wide file a report changed since it was last written: once, at the
    /// end of a run (finished, failed or interrupted).
    pub(crate) fn flush(&self, rt: &Runtime) -> Result<(), TaskError> {
        if self.lock().is_none() {
            return Ok(());
        }
        self.update(rt, |book, unwritten| {
            while let Some(file) = unwritten.first().copied() {
                write(rt, book, file)?;
                unwritten.remove(&file);
            }
            Ok(())
        })
    }

    /// IMAGES_TEST_PASSED and IMAGES_TEST_ERROR as this run has them: the book's when a report
    /// changed them since they were written, else the files; kept until the book changes.
    pub(crate) fn test_lists(&self, rt: &Runtime) -> Arc<TestLists> {
        let guard = self.lock();
        let mut memo = crate::sync::lock(&self.test_lists);
        if let Some(lists) = memo.as_ref() {
            return lists.clone();
        }
        let from_book = guard
            .as_ref()
            .filter(|_| crate::sync::lock(&self.unwritten).contains(&Unwritten::Tests));
        let lists = Arc::new(match from_book {
            Some(book) => TestLists {
                passed: book.test_passed().into_iter().collect(),
                failed: book.test_failed().into_iter().collect(),
            },
            None => TestLists {
                passed: artifacts::read_list(rt, "IMAGES_TEST_PASSED")
                    .into_iter()
                    .collect(),
                failed: artifacts::read_list(rt, "IMAGES_TEST_ERROR")
                    .into_iter()
                    .collect(),
            },
        });
        *memo = Some(lists.clone());
        lists
    }

    /// A build (or a tag added to an image built earlier) left variant `v` in the engine.
    pub(crate) fn built(&self, rt: &Runtime, v: usize) -> Result<(), TaskError> {
        self.update(rt, |book, unwritten| {
            book.entries[v].built = true;
            unwritten.insert(Unwritten::Built);
            Ok(())
        })
    }

    /// Variant `v`'s tests ran to the end with these (already stored) results.
    pub(crate) fn tested(
        &self,
        rt: &Runtime,
        v: usize,
        results: VariantResults,
    ) -> Result<(), TaskError> {
        self.update(rt, |book, unwritten| {
            book.entries[v].test = Some(results);
            unwritten.insert(Unwritten::Tests);
            // A test run writes the variant's metrics record before it reports.
            unwritten.insert(Unwritten::Report);
            Ok(())
        })
    }

    /// IMAGES_TEST_PASSED, IMAGES_TEST_ERROR and junit.xml as they stand (the human tag moved).
    pub(crate) fn rewrite_tests(&self, rt: &Runtime) -> Result<(), TaskError> {
        self.update(rt, |_, unwritten| {
            unwritten.insert(Unwritten::Tests);
            Ok(())
        })
    }

    /// Variant `v`'s (already stored) push record after a tag the registry accepted: the list,
    /// the variant's page (now with its digest) and STACK.md.
    pub(crate) fn pushed(
        &self,
        rt: &Runtime,
        v: usize,
        record: PushRecord,
    ) -> Result<(), TaskError> {
        self.update(rt, |book, unwritten| {
            book.entries[v].push = Some(record);
            unwritten.insert(Unwritten::Pushed);
            unwritten.insert(Unwritten::StackPage);
            if book.entries[v].manifest.is_some() {
                write_page(rt, book, v)?;
            }
            Ok(())
        })
    }

    /// IMAGES_PUSHED without what no longer describes the current identities.
    pub(crate) fn rewrite_pushed(&self, rt: &Runtime) -> Result<(), TaskError> {
        self.update(rt, |_, unwritten| {
            unwritten.insert(Unwritten::Pushed);
            Ok(())
        })
    }

    /// Variant `v`'s new (already stored) manifest record: its page and STACK.md.
    pub(crate) fn described(
        &self,
        rt: &Runtime,
        v: usize,
        record: ManifestRecord,
    ) -> Result<(), TaskError> {
        self.update(rt, |book, unwritten| {
            book.entries[v].manifest = Some(record);
            unwritten.insert(Unwritten::StackPage);
            write_page(rt, book, v)
        })
    }

    fn update(
        &self,
        rt: &Runtime,
        change: impl FnOnce(&mut Book, &mut BTreeSet<Unwritten>) -> Result<(), TaskError>,
    ) -> Result<(), TaskError> {
        let mut guard = self.seeded(rt)?;
        crate::sync::lock(&self.test_lists).take();
        let mut unwritten = crate::sync::lock(&self.unwritten);
        change(guard.as_mut().expect("seeded"), &mut unwritten)
    }

    /// The locked book, seeded first when this is the run's first use. The seed is read without
    /// the book's lock (it may ask the engine and registry), so no file write ever waits on
    /// the engine; reports are applied on top of the seed under the lock, so none is lost.
    fn seeded(&self, rt: &Runtime) -> Result<MutexGuard<'_, Option<Book>>, TaskError> {
        if self.lock().is_none() {
            let _one_reader = crate::sync::lock(&self.seeding);
            if self.lock().is_none() {
                let book = seed::read(rt)?;
                self.lock().get_or_insert(book);
            }
        }
        Ok(self.lock())
    }

    /// A subtask that panicked while holding the lock left a book whose files are rewritten
    /// whole on the next report: it stays usable.
    fn lock(&self) -> MutexGuard<'_, Option<Book>> {
        crate::sync::lock(&self.book)
    }
}

fn write(rt: &Runtime, book: &Book, file: Unwritten) -> Result<(), TaskError> {
    match file {
        Unwritten::Built => artifacts::write_list(rt, "IMAGES_BUILT", &book.built_refs()),
        Unwritten::Tests => write_tests(rt, book),
        Unwritten::Pushed => artifacts::write_list(rt, "IMAGES_PUSHED", &book.pushed_lines()),
        Unwritten::StackPage => write_stack(rt, book),
        Unwritten::Report => crate::stack::report::write(rt),
    }
}

fn write_tests(rt: &Runtime, book: &Book) -> Result<(), TaskError> {
    artifacts::write_list(rt, "IMAGES_TEST_PASSED", &book.test_passed())?;
    artifacts::write_list(rt, "IMAGES_TEST_ERROR", &book.test_failed())?;
    let xml = report::junit(&book.test_rows());
    artifacts::write_file(&rt.artifact("junit.xml"), xml.as_bytes())
}

fn write_page(rt: &Runtime, book: &Book, v: usize) -> Result<(), TaskError> {
    let Some(rec) = &book.entries[v].manifest else {
        return Ok(());
    };
    let page = manifest_render::image_page(rec, book.page_digest(v), now_unix());
    let path = manifest_record::manifests_dir(rt).join(&rec.file);
    artifacts::write_file(&path, page.as_bytes())
}

fn write_stack(rt: &Runtime, book: &Book) -> Result<(), TaskError> {
    let page = manifest_render::stack_page(&book.stack_rows(), rt.git.short().as_deref());
    let path = manifest_record::manifests_dir(rt).join("STACK.md");
    artifacts::write_file(&path, page.as_bytes())
}
