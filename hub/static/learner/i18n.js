// SPDX-License-Identifier: AGPL-3.0-or-later
//
// Interface text of the learner page in Mongolian and English. Children
// mostly read pictures, so text is short and sits beside an icon; the
// teacher reads it. Mongolian is the default, the choice is remembered.
//
// Plain ES2017 in a function scope (no modules): the page must run on old
// Android WebViews and iPad Safari 12 without a build step.

(function (CH) {
  'use strict';

  var STRINGS = {
    mn: {
      pageTitle: 'Хичээл',
      language: 'Хэл солих',
      pickClass: 'Ангиа сонгоорой',
      pickPicture: 'Өөрийнхөө зургийг олоорой',
      pickLesson: 'Хичээлээ сонгоорой',
      switchLearner: 'Хүүхэд солих',
      switchClass: 'Анги солих',
      lessons: 'Хичээлүүд',
      listen: 'Сонсох',
      next: 'Дараах',
      start: 'Эхлэх',
      tapWhenYouSee: 'Энэ зураг гарч ирэхэд дар!',
      wellDone: 'Сайн байна!',
      lessonFinished: 'Чи хичээлээ дуусгалаа.',
      backToLessons: 'Хичээл рүү буцах',
      loading: 'Ачаалж байна…',
      cannotReachHub: 'Төвтэй холбогдож чадсангүй. Wi-Fi-аа шалгаад дахин оролдоно уу.',
      tryAgain: 'Дахин оролдох',
      noClasses: 'Анги бүртгэгдээгүй байна. Багш аа, төв дээр анги нэмнэ үү.',
      noLearners: 'Энэ ангид хүүхэд бүртгэгдээгүй байна.',
      noLessons: 'Энэ ангид хичээл алга байна.',
      lessonBroken: 'Энэ хичээлийг нээж чадсангүй.',
      waitingToSend: 'илгээгдэхийг хүлээж буй хариу',
      allSent: 'Бүх хариу илгээгдсэн',
      storageFull: 'Таблетын санах ой дүүрсэн: хариуг хуудсыг хаахаас өмнө илгээнэ үү.'
    },
    en: {
      pageTitle: 'Lessons',
      language: 'Change language',
      pickClass: 'Pick your class',
      pickPicture: 'Find your picture',
      pickLesson: 'Pick a lesson',
      switchLearner: 'Switch learner',
      switchClass: 'Switch class',
      lessons: 'Lessons',
      listen: 'Listen',
      next: 'Next',
      start: 'Start',
      tapWhenYouSee: 'Tap when you see this picture!',
      wellDone: 'Well done!',
      lessonFinished: 'You finished the lesson.',
      backToLessons: 'Back to lessons',
      loading: 'Loading…',
      cannotReachHub: 'Cannot reach the hub. Check the Wi-Fi and try again.',
      tryAgain: 'Try again',
      noClasses: 'No classes yet. Teacher: add a class on the hub.',
      noLearners: 'No learners in this class yet.',
      noLessons: 'This class has no lessons yet.',
      lessonBroken: 'This lesson could not be opened.',
      waitingToSend: 'answers waiting to be sent',
      allSent: 'All answers sent',
      storageFull: 'The tablet’s storage is full: send the answers before closing the page.'
    }
  };

  var LANGUAGES = ['mn', 'en'];
  var current = CH.storage.read('language', 'mn');
  if (LANGUAGES.indexOf(current) < 0) {
    current = 'mn';
  }

  function t(key) {
    var text = STRINGS[current][key];
    return text === undefined ? STRINGS.en[key] : text;
  }

  // Pack text objects map language codes to text; a pack may lack the
  // interface language, so fall back to any language it has.
  function pick(textByLanguage, language) {
    if (!textByLanguage) {
      return '';
    }
    var wanted = [language || current, 'mn', 'en'];
    for (var i = 0; i < wanted.length; i++) {
      if (typeof textByLanguage[wanted[i]] === 'string') {
        return textByLanguage[wanted[i]];
      }
    }
    var keys = Object.keys(textByLanguage);
    return keys.length ? String(textByLanguage[keys[0]]) : '';
  }

  function setLanguage(language) {
    if (LANGUAGES.indexOf(language) < 0) {
      return;
    }
    current = language;
    CH.storage.write('language', language);
    document.documentElement.lang = language;
  }

  CH.i18n = {
    t: t,
    pick: pick,
    setLanguage: setLanguage,
    language: function () { return current; },
    other: function () { return current === 'mn' ? 'en' : 'mn'; }
  };
})(window.CH = window.CH || {});
