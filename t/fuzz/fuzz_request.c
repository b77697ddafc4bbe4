/*
 * fuzz_request - libFuzzer target for the policy request parser: any
 * bytes, fed in any split, must end in DONE, MORE or BAD, never past the
 * input, with the kept attributes NUL-terminated.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "policy/request.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy_request request;
	enum request_status status = REQUEST_MORE;
	const char *err;
	size_t	step = size ? (size_t) data[0] % 17 + 1 : 1;
	size_t	off = 0;
	size_t	used;
	size_t	n;

	request_init(&request);
	while (off < size && status != REQUEST_BAD) {
		n = size - off < step ? size - off : step;
		status = request_feed(&request, (const char *) data + off, n,
				      &used, &err);
		if (used > n)
			__builtin_trap();
		off += used;
		if (status == REQUEST_DONE) {
			if (strnlen(request.client_address,
				    sizeof(request.client_address))
			    == sizeof(request.client_address))
				__builtin_trap();
			request_init(&request);
		}
	}
	return 0;
}
