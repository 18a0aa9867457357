//! SGX: the enclave identity a SIGSTRUCT fixes (MRENCLAVE, MRSIGNER, ISVPRODID, ISVSVN,
//! attributes), after checking the SIGSTRUCT's own RSA-3072 signature.
