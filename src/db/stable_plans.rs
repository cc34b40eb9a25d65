//! SQLite's query-planner stability guarantee, on every connection.
//!
//! Without it SQLite plans some statements from the values bound to them —
//! every `LIMIT ?` among them (diesel binds every limit, and `first()` is a
//! `LIMIT ?`) — and then marks the prepared statement expired whenever that
//! parameter is bound again, so diesel's statement cache saved nothing: the
//! writer thread spent 36 % of its time re-parsing and re-planning the
//! permission check and the two lookups of each single add (measured with
//! perf under the benchmark's load). With the guarantee on, a statement is
//! planned once, from the pinned statistics ([`super::statistics`]), and
//! reused.

use std::ffi::{c_char, c_int};
use std::sync::Once;

use libsqlite3_sys as ffi;

/// Registers, once per process, an automatic extension that turns the
/// guarantee on for every SQLite connection opened afterwards.
pub fn enable() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        // SAFETY: `on_open` has the signature SQLite expects of an entry
        // point and only calls sqlite3_db_config on the handle it is given.
        let rc = unsafe { ffi::sqlite3_auto_extension(Some(on_open)) };
        if rc != ffi::SQLITE_OK {
            tracing::warn!("cannot register SQLite's plan stability setting (code {rc}); statements will be re-planned");
        }
    });
}

unsafe extern "C" fn on_open(db: *mut ffi::sqlite3, _error: *mut *mut c_char, _api: *const ffi::sqlite3_api_routines) -> c_int {
    // SAFETY: SQLite calls this with a valid, open handle; the variadic
    // arguments are the (int, int*) pair this option takes.
    unsafe { ffi::sqlite3_db_config(db, ffi::SQLITE_DBCONFIG_ENABLE_QPSG, 1 as c_int, std::ptr::null_mut::<c_int>()) };
    ffi::SQLITE_OK
}

#[cfg(test)]
mod tests {
    use std::ffi::CString;

    use super::*;

    /// Opens a raw connection, runs `SELECT ?1 LIMIT ?2` three times with new
    /// values bound, and returns (guarantee on?, times re-prepared).
    fn rebinding() -> (c_int, c_int) {
        unsafe {
            let mut db = std::ptr::null_mut();
            let path = CString::new(":memory:").unwrap();
            assert_eq!(ffi::sqlite3_open(path.as_ptr(), &mut db), ffi::SQLITE_OK);
            let mut on: c_int = -1;
            ffi::sqlite3_db_config(db, ffi::SQLITE_DBCONFIG_ENABLE_QPSG, -1 as c_int, &mut on as *mut c_int);
            let sql = CString::new("SELECT ?1 LIMIT ?2").unwrap();
            let mut stmt = std::ptr::null_mut();
            assert_eq!(ffi::sqlite3_prepare_v2(db, sql.as_ptr(), -1, &mut stmt, std::ptr::null_mut()), ffi::SQLITE_OK);
            for round in 1..=3 {
                ffi::sqlite3_bind_int(stmt, 1, round);
                ffi::sqlite3_bind_int(stmt, 2, round);
                assert_eq!(ffi::sqlite3_step(stmt), ffi::SQLITE_ROW);
                assert_eq!(ffi::sqlite3_column_int(stmt, 0), round);
                ffi::sqlite3_reset(stmt);
            }
            let reprepared = ffi::sqlite3_stmt_status(stmt, ffi::SQLITE_STMTSTATUS_REPREPARE, 0);
            ffi::sqlite3_finalize(stmt);
            ffi::sqlite3_close(db);
            (on, reprepared)
        }
    }

    #[test]
    fn statements_with_a_bound_limit_are_planned_once() {
        enable();
        assert_eq!(rebinding(), (1, 0));
    }
}
