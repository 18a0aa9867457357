//! TDX: MRTD from the TDVF metadata (the TDX module's TDH.MEM.PAGE.ADD and TDH.MR.EXTEND rules),
//! RTMR0–2 for direct kernel boot as TDVF measures them.
