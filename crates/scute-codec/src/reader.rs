//! A bounded cursor over untrusted bytes: every read names its field and fails, never panics,
//! when the input is short; `finish` rejects bytes a layout does not account for. Positions are
//! relative to the slice the reader was made from. (rustls keeps the same shape in one place:
//! `rustls/src/msgs/codec.rs`, `Reader` and its `TrailingData` error.)

use thiserror::Error;

/// A read ran past the end of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("{field} is truncated at offset {offset}: {needed} bytes needed, {available} available")]
pub struct Truncated {
    /// The field being read.
    pub field: &'static str,
    /// Where the read started (bytes consumed before it).
    pub offset: usize,
    /// Bytes the field needs.
    pub needed: usize,
    /// Bytes that were left.
    pub available: usize,
}

/// A block had bytes its layout does not account for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("{item} has {trailing} bytes past its layout ({used} of {len} used)")]
pub struct Trailing {
    /// The block being finished.
    pub item: &'static str,
    /// The block's whole length.
    pub len: usize,
    /// Bytes the layout read.
    pub used: usize,
    /// Bytes left over (`len - used`).
    pub trailing: usize,
}

/// A cursor over `bytes`; reads move it forward and fail with [`Truncated`] when short.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    rest: &'a [u8],
    len: usize,
}

impl<'a> Reader<'a> {
    pub const fn new(bytes: &'a [u8]) -> Self {
        Self {
            rest: bytes,
            len: bytes.len(),
        }
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> usize {
        self.len.saturating_sub(self.rest.len())
    }

    /// The bytes not read yet (the cursor does not move).
    pub fn rest(&self) -> &'a [u8] {
        self.rest
    }

    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The next `len` bytes.
    pub fn take(&mut self, len: usize, field: &'static str) -> Result<&'a [u8], Truncated> {
        let (head, tail) = self.rest.split_at_checked(len).ok_or(Truncated {
            field,
            offset: self.position(),
            needed: len,
            available: self.rest.len(),
        })?;
        self.rest = tail;
        Ok(head)
    }

    pub fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], Truncated> {
        let (head, tail) = self.rest.split_first_chunk::<N>().ok_or(Truncated {
            field,
            offset: self.position(),
            needed: N,
            available: self.rest.len(),
        })?;
        self.rest = tail;
        Ok(*head)
    }

    pub fn u8(&mut self, field: &'static str) -> Result<u8, Truncated> {
        Ok(u8::from_le_bytes(self.array(field)?))
    }

    /// Little-endian.
    pub fn u16(&mut self, field: &'static str) -> Result<u16, Truncated> {
        Ok(u16::from_le_bytes(self.array(field)?))
    }

    /// Little-endian.
    pub fn u32(&mut self, field: &'static str) -> Result<u32, Truncated> {
        Ok(u32::from_le_bytes(self.array(field)?))
    }

    /// Little-endian.
    pub fn u64(&mut self, field: &'static str) -> Result<u64, Truncated> {
        Ok(u64::from_le_bytes(self.array(field)?))
    }

    /// The next `len` bytes as a reader of their own (its positions start at 0).
    pub fn sub(&mut self, len: usize, field: &'static str) -> Result<Reader<'a>, Truncated> {
        Ok(Reader::new(self.take(len, field)?))
    }

    /// A block whose length is given by a little-endian u32 prefix.
    pub fn sized_u32(&mut self, field: &'static str) -> Result<Reader<'a>, Truncated> {
        // A length beyond the address space cannot be present: it reads as truncated.
        let len = usize::try_from(self.u32(field)?).unwrap_or(usize::MAX);
        self.sub(len, field)
    }

    /// Fails when `item` has bytes its layout does not account for.
    pub fn finish(self, item: &'static str) -> Result<(), Trailing> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(Trailing {
                item,
                len: self.len,
                used: self.position(),
                trailing: self.rest.len(),
            })
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn reads_little_endian_fields_in_order() {
        let bytes = [1, 2, 0, 3, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 9, 9];
        let mut r = Reader::new(&bytes);
        assert_eq!(r.u8("a"), Ok(1));
        assert_eq!(r.u16("b"), Ok(2));
        assert_eq!(r.u32("c"), Ok(3));
        assert_eq!(r.u64("d"), Ok(4));
        assert_eq!(r.position(), 15);
        assert_eq!(r.array::<2>("e"), Ok([9, 9]));
        assert!(r.is_empty());
        assert_eq!(r.finish("block"), Ok(()));
    }

    #[test]
    fn a_short_read_names_the_field_and_where_and_moves_nothing() {
        let mut r = Reader::new(&[1, 2, 3]);
        r.u8("first").unwrap();
        let err = r.u32("second").unwrap_err();
        assert_eq!(
            err,
            Truncated {
                field: "second",
                offset: 1,
                needed: 4,
                available: 2
            }
        );
        // The failed read consumed nothing: what is left can still be read.
        assert_eq!(r.rest(), [2, 3]);
        assert_eq!(r.take(3, "third").unwrap_err().available, 2);
        assert_eq!(r.take(2, "fourth"), Ok(&[2u8, 3][..]));
        assert_eq!(r.u8("past the end").unwrap_err().needed, 1);
    }

    #[test]
    fn huge_lengths_are_truncation_not_overflow() {
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 0xff, 0]);
        assert_eq!(r.sized_u32("block").unwrap_err().needed, 0xffff_ffff);
        let mut r = Reader::new(&[0; 4]);
        assert_eq!(r.take(usize::MAX, "all").unwrap_err().needed, usize::MAX);
    }

    #[test]
    fn trailing_bytes_are_refused_with_what_was_used() {
        let mut r = Reader::new(&[1, 2, 3, 4, 5]);
        r.u16("head").unwrap();
        assert_eq!(
            r.finish("block"),
            Err(Trailing {
                item: "block",
                len: 5,
                used: 2,
                trailing: 3
            })
        );
    }

    #[test]
    fn sub_blocks_are_bounded_by_their_length_prefix() {
        // A 3-byte block holding a u16 and one stray byte, then a byte after the block.
        let bytes = [3, 0, 0, 0, 7, 0, 0xee, 0xaa];
        let mut r = Reader::new(&bytes);
        let mut block = r.sized_u32("block").unwrap();
        assert_eq!(block.u16("inner"), Ok(7));
        // The block cannot read past its own end, into the outer data.
        assert_eq!(block.u16("inner2").unwrap_err().available, 1);
        assert_eq!(block.finish("block").unwrap_err().trailing, 1);
        assert_eq!(r.u8("after"), Ok(0xaa));
        assert_eq!(r.finish("outer"), Ok(()));
        let mut short = Reader::new(&[9, 0, 0, 0, 1]);
        assert_eq!(short.sized_u32("block").unwrap_err().offset, 4);
    }
}
