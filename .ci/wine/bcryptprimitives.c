/* Wine 8.0 has no bcryptprimitives.dll, and Rust's standard library (1.78 on) imports ProcessPrng
 * from it, so no Rust program loads under Wine 8.0 without this stand-in. It is part of the test
 * harness (.ci/run builds it into the Wine prefix), never of fnjit. ProcessPrng fills the buffer
 * from RtlGenRandom (SystemFunction036 in advapi32), and, as Windows' own, always succeeds for a
 * process that can run at all. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
