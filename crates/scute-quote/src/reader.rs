//! A bounded cursor over untrusted bytes: every read names its field and fails, never panics,
//! when the input is short.

use crate::QuoteError;

pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    pub(crate) fn take(&mut self, len: usize, field: &'static str) -> Result<&'a [u8], QuoteError> {
        let (head, tail) = self
            .rest
            .split_at_checked(len)
            .ok_or(QuoteError::Truncated {
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
    ) -> Result<[u8; N], QuoteError> {
        let bytes = self.take(N, field)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, QuoteError> {
        Ok(u8::from_le_bytes(self.array(field)?))
    }

    pub(crate) fn u16(&mut self, field: &'static str) -> Result<u16, QuoteError> {
        Ok(u16::from_le_bytes(self.array(field)?))
    }

    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32, QuoteError> {
        Ok(u32::from_le_bytes(self.array(field)?))
    }

    /// A sub-block whose length is given by a little-endian length prefix of the given width.
    pub(crate) fn sized_u32(&mut self, field: &'static str) -> Result<Reader<'a>, QuoteError> {
        let len = self.u32(field)? as usize;
        Ok(Reader::new(self.take(len, field)?))
    }

    pub(crate) fn rest(&self) -> &'a [u8] {
        self.rest
    }

    /// Fails when the block has bytes its layout does not account for.
    pub(crate) fn finish(self, field: &'static str, declared: usize) -> Result<(), QuoteError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(QuoteError::SizeMismatch {
                field,
                declared,
                used: declared.saturating_sub(self.rest.len()),
            })
        }
    }
}
