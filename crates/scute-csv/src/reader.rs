//! A bounded cursor over untrusted bytes: every read names its field and fails, never panics,
//! when the input is short; `finish` rejects bytes a layout does not account for.

use crate::CsvError;

pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    pub(crate) fn take(&mut self, len: usize, field: &'static str) -> Result<&'a [u8], CsvError> {
        let (head, tail) = self.rest.split_at_checked(len).ok_or(CsvError::Truncated {
            field,
            needed: len,
            available: self.rest.len(),
        })?;
        self.rest = tail;
        Ok(head)
    }

    pub(crate) fn array<const N: usize>(
        &mut self,
        field: &'static str,
    ) -> Result<[u8; N], CsvError> {
        let bytes = self.take(N, field)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, CsvError> {
        Ok(u8::from_le_bytes(self.array(field)?))
    }

    pub(crate) fn u16(&mut self, field: &'static str) -> Result<u16, CsvError> {
        Ok(u16::from_le_bytes(self.array(field)?))
    }

    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32, CsvError> {
        Ok(u32::from_le_bytes(self.array(field)?))
    }

    /// Fails when `item` has bytes its layout does not account for.
    pub(crate) fn finish(self, item: &'static str, expected: &'static str) -> Result<(), CsvError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(CsvError::Trailing {
                item,
                trailing: self.rest.len(),
                expected,
            })
        }
    }
}
