//! Dangan's file formats, pure: no database, no HTTP. See `ARCHITECTURE.md` (crates/io).
pub mod cell;
pub mod convert;
pub mod csv_read;
pub mod error;
pub mod excel;
pub mod export;
pub mod mapping;
pub mod package;
pub mod table;
pub mod vcard;

pub use cell::{Cell, RawRow};
pub use convert::{Converter, ImportRecord, RowError};
pub use error::ReadError;
pub use mapping::{ColumnBinding, ColumnMapping, ContactField, Field, Target};
pub use table::{open_rows, open_table, row_count_hint, FileKind, Header, ReadOptions, RowSource, Table};
