//! Indonesian identity values: NIK, KK number and Kemendagri region codes, parsed and validated.
//!
//! This crate owns:
//!
//! - the Kemendagri region table (Kepmendagri No 300.2.2-2138 Tahun 2025), embedded in the
//!   binary and parsed once on first use: [`RegionCode`] and [`Regions`];
//! - the NIK rules ([`Nik`]): 16 digits `PP KK CC DDMMYY SSSS`, a region that exists, a real
//!   birth date (day +40 for women), serial from 0001; a NIK that disagrees with what a person
//!   declares is a [`NikWarning`], never a rejection;
//! - the KK (family card) number rules ([`KkNumber`]);
//! - [`Sex`] as written on forms (`M`/`F`, or `L`/`P`);
//! - keyed NIK tokens ([`NikTokenizer`]): how services match a person without the NIK.
//!
//! It does not own matching people across records by name (normalisation, scoring), the
//! BPS region crosswalk, or any I/O: every function here is pure apart from reading the clock
//! in [`today_in_indonesia`] and the `parse` shorthands that call it.
//!
//! NIK and KK numbers are personal data (UU 27/2022): their `Debug` output is masked so that
//! `{:?}` never puts one in a log; `Display` prints the full value because payloads need it.

mod calendar;
mod card;
mod kk;
mod nik;
mod region;
mod sex;
mod token;

pub use calendar::today_in_indonesia;
pub use kk::{KkNumber, KkNumberError};
pub use nik::{Nik, NikError, NikWarning};
pub use region::{RegionCode, RegionCodeError, RegionLevel, Regions};
pub use sex::{Sex, SexError};
pub use token::{MIN_KEY_BYTES, NikTokenizer, TokenKeyError};
