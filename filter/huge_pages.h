// huge_page_allocator: a std::allocator for the matcher's large build-once arrays (candidate
// records, table cells). Blocks of 2 MB or more are 2 MB aligned and advised to the kernel
// as transparent huge pages (a fresh mmap with MADV_HUGEPAGE), so that probing 100,000 subscribers'
// records walks a few TLB entries instead of thousands of 4 KB pages: a TLB miss per table cell
// and per candidate was part of what grows with the subscriber count. Smaller blocks, and
// systems where the advice is refused or THP is off, get ordinary memory. Allocates like
// operator new; thread-safe.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <new>

namespace pubsub::filter_detail {

inline constexpr std::size_t huge_page_size = std::size_t{2} << 20;

// A fresh mapping of `bytes` (a multiple of huge_page_size), huge_page_size aligned and advised
// before its first touch (memory the heap reuses would already be in 4 KB pages).
inline void* map_huge(std::size_t bytes) {
    const std::size_t span = bytes + huge_page_size;
    void* m = ::mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) throw std::bad_alloc();
    char* base = static_cast<char*>(m);
    const std::size_t head =
        (huge_page_size - reinterpret_cast<std::uintptr_t>(base) % huge_page_size) % huge_page_size;
    if (head != 0) ::munmap(base, head);
    ::munmap(base + head + bytes, huge_page_size - head);
    (void)::madvise(base + head, bytes, MADV_HUGEPAGE);  // advice only: 4 KB pages if refused
    return base + head;
}

template <class T>
struct huge_page_allocator {
    using value_type = T;

    huge_page_allocator() = default;
    template <class U>
    huge_page_allocator(const huge_page_allocator<U>&) {}

    static bool huge(std::size_t n) { return n * sizeof(T) >= huge_page_size; }
    static std::size_t rounded(std::size_t n) {
        return (n * sizeof(T) + huge_page_size - 1) & ~(huge_page_size - 1);
    }

    T* allocate(std::size_t n) {
        if (!huge(n)) {
            return static_cast<T*>(::operator new (n * sizeof(T), std::align_val_t{alignof(T)}));
        }
        return static_cast<T*>(map_huge(rounded(n)));
    }
    void deallocate(T* p, std::size_t n) {
        if (huge(n)) {
            ::munmap(p, rounded(n));
        } else {
            ::operator delete (p, std::align_val_t{alignof(T)});
        }
    }
    template <class U>
    bool operator==(const huge_page_allocator<U>&) const {
        return true;
    }
};

}  // namespace pubsub::filter_detail
