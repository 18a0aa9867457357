//! A bounded cursor over an untrusted log: reads name their field and offset.

use crate::EventLogError;

pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0 }
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn remaining(&self) -> &'a [u8] {
        self.bytes.get(self.pos..).unwrap_or_default()
    }

    pub(crate) fn take(
        &mut self,
        len: usize,
        field: &'static str,
    ) -> Result<&'a [u8], EventLogError> {
        let end = self.pos.checked_add(len).filter(|&e| e <= self.bytes.len());
        let slice =
            end.and_then(|e| self.bytes.get(self.pos..e))
                .ok_or(EventLogError::Truncated {
                    field,
                    offset: self.pos,
                })?;
        self.pos += len;
        Ok(slice)
    }

    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, EventLogError> {
        Ok(self.array::<1>(field)?[0])
    }

    pub(crate) fn u16(&mut self, field: &'static str) -> Result<u16, EventLogError> {
        Ok(u16::from_le_bytes(self.array(field)?))
    }

    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32, EventLogError> {
        Ok(u32::from_le_bytes(self.array(field)?))
    }

    pub(crate) fn u64(&mut self, field: &'static str) -> Result<u64, EventLogError> {
        Ok(u64::from_le_bytes(self.array(field)?))
    }

    pub(crate) fn array<const N: usize>(
        &mut self,
        field: &'static str,
    ) -> Result<[u8; N], EventLogError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, field)?);
        Ok(out)
    }
}
