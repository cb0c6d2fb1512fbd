//! MLLP framing as a `tokio_util::codec`: `0x0B payload 0x1C 0x0D`.
//!
//! [`Mllp::decode`] yields whole payloads however the bytes were split across reads,
//! and several frames from one read in turn. Bytes before a `0x0B` are discarded and
//! counted ([`Mllp::take_discarded`]); a `0x1C` not followed by `0x0D`, or a payload
//! longer than `max_frame_bytes`, is an error after which the connection is closed.
//! [`Mllp::frame_started`] tells the listener when the unfinished frame began (it is
//! dropped after a while). The encoder writes one ACK as one frame.

use std::time::Instant;

use bytes::{Buf, BufMut, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

/// Start block.
pub const START: u8 = 0x0B;
/// End block.
pub const END: u8 = 0x1C;
/// Carriage return after the end block.
pub const CR: u8 = 0x0D;

/// Why the stream cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// A payload beyond the limit.
    #[error("frame longer than {0} bytes")]
    TooLong(usize),
    /// `0x1C` followed by something other than `0x0D`.
    #[error("end block not followed by a carriage return")]
    BadEnd,
    /// The socket failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// The MLLP codec.
#[derive(Debug)]
pub struct Mllp {
    max_frame_bytes: usize,
    /// Bytes of the current frame already scanned for `0x1C` (after the `0x0B`).
    scanned: usize,
    in_frame: bool,
    started: Option<Instant>,
    discarded: u64,
}

impl Mllp {
    /// A codec refusing payloads longer than `max_frame_bytes`.
    pub fn new(max_frame_bytes: usize) -> Self {
        Mllp {
            max_frame_bytes,
            scanned: 0,
            in_frame: false,
            started: None,
            discarded: 0,
        }
    }

    /// Discarded bytes since the last call.
    pub fn take_discarded(&mut self) -> u64 {
        std::mem::take(&mut self.discarded)
    }

    /// When the unfinished frame in the buffer started, if there is one.
    pub fn frame_started(&self) -> Option<Instant> {
        self.started
    }
}

impl Decoder for Mllp {
    type Item = BytesMut;
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<BytesMut>, FrameError> {
        if !self.in_frame {
            match src.iter().position(|&b| b == START) {
                Some(i) => {
                    self.discarded += i as u64;
                    src.advance(i + 1);
                    self.in_frame = true;
                    self.scanned = 0;
                    self.started = Some(Instant::now());
                }
                None => {
                    self.discarded += src.len() as u64;
                    src.clear();
                    return Ok(None);
                }
            }
        }
        let from = self.scanned.min(src.len());
        match src[from..].iter().position(|&b| b == END) {
            Some(off) => {
                let end = from + off;
                if end > self.max_frame_bytes {
                    return Err(FrameError::TooLong(self.max_frame_bytes));
                }
                match src.get(end + 1) {
                    None => {
                        self.scanned = end;
                        Ok(None)
                    }
                    Some(&CR) => {
                        let payload = src.split_to(end);
                        src.advance(2);
                        self.in_frame = false;
                        self.started = None;
                        self.scanned = 0;
                        Ok(Some(payload))
                    }
                    Some(_) => Err(FrameError::BadEnd),
                }
            }
            None => {
                if src.len() > self.max_frame_bytes {
                    return Err(FrameError::TooLong(self.max_frame_bytes));
                }
                self.scanned = src.len();
                Ok(None)
            }
        }
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<BytesMut>, FrameError> {
        match self.decode(src)? {
            Some(frame) => Ok(Some(frame)),
            None => {
                // An unfinished frame at the end of the stream is dropped.
                self.discarded += src.len() as u64;
                src.clear();
                self.in_frame = false;
                self.started = None;
                Ok(None)
            }
        }
    }
}

impl Encoder<&[u8]> for Mllp {
    type Error = FrameError;

    fn encode(&mut self, payload: &[u8], dst: &mut BytesMut) -> Result<(), FrameError> {
        dst.reserve(payload.len() + 3);
        dst.put_u8(START);
        dst.put_slice(payload);
        dst.put_u8(END);
        dst.put_u8(CR);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn frames(codec: &mut Mllp, chunks: &[&[u8]]) -> Result<Vec<Vec<u8>>, FrameError> {
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for c in chunks {
            buf.extend_from_slice(c);
            while let Some(f) = codec.decode(&mut buf)? {
                out.push(f.to_vec());
            }
        }
        Ok(out)
    }

    #[test]
    fn split_anywhere_and_merged_frames() {
        let wire = b"\x0bMSH|a\r\x1c\x0d\x0bMSH|b\x1c\x0d";
        for cut in 0..=wire.len() {
            let mut c = Mllp::new(100);
            let got = frames(&mut c, &[&wire[..cut], &wire[cut..]]).unwrap();
            assert_eq!(got, [b"MSH|a\r".to_vec(), b"MSH|b".to_vec()], "cut {cut}");
            assert_eq!(c.take_discarded(), 0);
        }
        let mut c = Mllp::new(100);
        let bytes: Vec<&[u8]> = wire.chunks(1).collect();
        assert_eq!(frames(&mut c, &bytes).unwrap().len(), 2);
    }

    #[test]
    fn garbage_is_counted_and_bad_ends_and_oversize_fail() {
        let mut c = Mllp::new(100);
        let got = frames(&mut c, &[b"junk\x0bA\x1c\x0dxy", b"z\x0bB\x1c\x0d"]).unwrap();
        assert_eq!(got, [b"A".to_vec(), b"B".to_vec()]);
        assert_eq!(c.take_discarded(), 7);
        let mut c = Mllp::new(100);
        assert!(matches!(
            frames(&mut c, &[b"\x0bA\x1cB"]),
            Err(FrameError::BadEnd)
        ));
        let mut c = Mllp::new(4);
        assert!(matches!(
            frames(&mut c, &[b"\x0b12345"]),
            Err(FrameError::TooLong(4))
        ));
        let mut c = Mllp::new(4);
        assert!(matches!(
            frames(&mut c, &[b"\x0b12345\x1c\x0d"]),
            Err(FrameError::TooLong(4))
        ));
        let mut c = Mllp::new(4);
        assert_eq!(
            frames(&mut c, &[b"\x0b1234\x1c\x0d"]).unwrap(),
            [b"1234".to_vec()]
        );
        let mut c = Mllp::new(4);
        let mut out = BytesMut::new();
        c.encode(&b"ACK"[..], &mut out).unwrap();
        assert_eq!(&out[..], b"\x0bACK\x1c\x0d");
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..8)) {
            let mut c = Mllp::new(32);
            let refs: Vec<&[u8]> = chunks.iter().map(|c| c.as_slice()).collect();
            if let Ok(got) = frames(&mut c, &refs) {
                for f in got {
                    prop_assert!(f.len() <= 32 && !f.contains(&END));
                }
            }
        }
    }
}
